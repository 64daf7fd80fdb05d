"""Where the repository is, for tests reading its files (whatever folder they live in)."""

from pathlib import Path

__all__ = ["REPOSITORY"]

REPOSITORY = Path(__file__).resolve().parents[2]
"""The repository's root: the folder holding ``pyproject.toml``."""
