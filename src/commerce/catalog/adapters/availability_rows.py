"""Rows of the item availability read model as the read side's records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Row

from commerce.platform.read_side.ports import (
    ItemAvailability,
)

__all__ = ["availability_of"]


def availability_of(row: Row[Any] | Mapping[str, Any]) -> ItemAvailability:
    """An ``item_availability`` row as a record."""
    values = row._mapping if isinstance(row, Row) else row
    return ItemAvailability(
        item_id=values["item_id"],
        name=values["name"],
        status=values["status"],
        stock=values["stock"],
        price=values["price"],
        currency=values["currency"],
        updated_at=values["updated_at"],
        version=values["version"],
    )
