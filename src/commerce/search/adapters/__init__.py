"""Implementations of the search port (Postgres full-text search)."""
