"""Rows of the user directory read model as the read side's records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from commerce.platform.read_side.ports import (
    DirectoryRecord,
)

__all__ = ["directory_record_of"]


def directory_record_of(row: Row[Any] | Mapping[str, Any]) -> DirectoryRecord:
    """A ``user_directory`` row as a record."""
    values = row._mapping if isinstance(row, Row) else row
    return DirectoryRecord(
        user_id=values["user_id"],
        email=values["email"],
        display_name=values["display_name"],
        status=values["status"],
        roles=tuple(values["roles"]),
        registered_at=values["registered_at"],
        version=values["version"],
    )
