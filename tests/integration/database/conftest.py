"""The persistence tests use the session database fixtures of ``tests/conftest.py``."""
