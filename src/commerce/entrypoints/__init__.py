"""Processes and their surfaces: subscribers, the worker app, the relay and the CLI."""
