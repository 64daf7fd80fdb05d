"""Rows of state-stored aggregates: optimistic versioned updates, named constraint violations."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import Table, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.eventsourcing.streams import ConcurrencyConflict, StreamId

__all__ = ["update_versioned", "violated_constraint"]


def violated_constraint(error: IntegrityError) -> str | None:
    """The name of the unique constraint ``error`` violated, if it is a unique violation."""
    cause = error.orig.__cause__ if error.orig is not None else None
    if isinstance(cause, UniqueViolationError):
        return str(cause.constraint_name)
    return None


async def update_versioned(
    connection: AsyncConnection,
    table: Table,
    *,
    aggregate: StreamId,
    expected_version: int,
    values: Mapping[str, Any],
) -> None:
    """``UPDATE table SET values WHERE id = aggregate.id AND version = expected_version``.

    Raises :class:`ConcurrencyConflict` when no row matched (the row moved on, or is gone).
    """
    statement = (
        table.update()
        .where(table.c.id == aggregate.id, table.c.version == expected_version)
        .values(dict(values))
        .returning(table.c.version)
    )
    if (await connection.execute(statement)).first() is None:
        current = await connection.scalar(select(table.c.version).where(table.c.id == aggregate.id))
        raise ConcurrencyConflict(aggregate, expected_version, f"the row is at version {current}")
