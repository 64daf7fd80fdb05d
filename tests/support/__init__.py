"""Test support: service resolution, the Tansu broker and shared helpers."""
