"""Rows of the order summaries read model as the read side's records."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from sqlalchemy import Row

from commerce.platform.read_side.ports import (
    OrderLine,
    OrderSummary,
)

__all__ = ["order_lines_of", "order_summary_of"]


def order_lines_of(lines: list[dict[str, Any]]) -> tuple[OrderLine, ...]:
    """The ``lines`` JSON of an order summary row."""
    return tuple(
        OrderLine(UUID(line["item_id"]), int(line["quantity"]), int(line["subtotal"]))
        for line in lines
    )


def order_summary_of(row: Row[Any] | Mapping[str, Any]) -> OrderSummary:
    """An ``order_summaries`` row as a summary."""
    values = row._mapping if isinstance(row, Row) else row
    return OrderSummary(
        order_id=values["order_id"],
        customer_id=values["customer_id"],
        status=values["status"],
        currency=values["currency"],
        lines=order_lines_of(values["lines"]),
        total=values["total"],
        placed_at=values["placed_at"],
        updated_at=values["updated_at"],
        version=values["version"],
    )
