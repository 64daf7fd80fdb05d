"""Operators' view of the outbox: backlog, parked rows, and handing parked rows back.

A row is **parked** when the relay could not read it: it sets ``failed_at`` and
``last_error`` and goes on with the rows behind it, so one bad row never blocks the
outbox. Retrying clears both (and wakes the relay with ``NOTIFY``): the relay tries the row
again on its next pass, at its old position; the aggregate's later events may have been
published meanwhile, so a retried event can arrive after them (as a replayed dead letter
does).

The console logs in as the relay role: the outbox forces row-level security, and only
the relay's ``relay_all_tenants`` policy sees every tenant's rows; its privileges
(``SELECT``, ``UPDATE``, ``DELETE`` on the outbox) are what these operations need (ADR 0002).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self
from uuid import UUID

import structlog
from sqlalchemy import Interval, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.outbox.writer import OUTBOX_CHANNEL
from commerce.platform.postgres.tables import outbox

__all__ = ["OutboxConsole", "OutboxRowNotParkedError", "OutboxStatus", "ParkedRow"]

_log = structlog.get_logger("commerce.outbox")

_UNSENT = outbox.c.sent_at.is_(None) & outbox.c.failed_at.is_(None)
_PARKED = outbox.c.sent_at.is_(None) & outbox.c.failed_at.is_not(None)
_STATUS = select(
    func.count().filter(_UNSENT).label("backlog"),
    func.extract("epoch", func.now() - func.min(outbox.c.created_at).filter(_UNSENT)).label(
        "oldest_age"
    ),
    func.count().filter(_PARKED).label("parked"),
    func.count().filter(outbox.c.sent_at.is_not(None)).label("sent"),
    func.count()
    .filter(outbox.c.sent_at < func.now() - bindparam("retention", type_=Interval))
    .label("due"),
)
_LIST_PARKED = (
    select(
        outbox.c.position,
        outbox.c.message_id,
        outbox.c.tenant_id,
        outbox.c.stream,
        outbox.c.event_type,
        outbox.c.aggregate_id,
        outbox.c.created_at,
        outbox.c.failed_at,
        outbox.c.last_error,
    )
    .where(_PARKED)
    .order_by(outbox.c.position)
)
_RETRY = update(outbox).where(_PARKED).values(failed_at=None, last_error=None)
_NOTIFY = select(func.pg_notify(OUTBOX_CHANNEL, ""))


class OutboxRowNotParkedError(LookupError):
    """A row asked for is not parked (never was, was retried, or does not exist)."""


@dataclass(frozen=True, slots=True)
class OutboxStatus:
    """The outbox at a glance."""

    backlog: int
    """Committed rows the relay has still to publish (parked ones excluded)."""
    oldest_unsent_age: float | None
    """Seconds since the oldest of them was written; ``None`` when there is none."""
    parked: int
    """Rows the relay could not read, waiting for an operator."""
    sent: int
    """Published rows kept for diagnosis until the relay purges them."""
    due_for_purge: int
    """Of the sent rows, those older than the retention (the next purge deletes them)."""


@dataclass(frozen=True, slots=True)
class ParkedRow:
    """One parked outbox row, without its payload."""

    position: int
    message_id: UUID
    tenant_id: UUID
    stream: str
    event_type: str
    aggregate_id: str
    created_at: datetime
    failed_at: datetime
    last_error: str | None


class OutboxConsole:
    """Reads the outbox's state and retries parked rows; ``async with`` it (it owns ``engine``).

    ``sent_retention``: seconds the relay keeps sent rows (``RELAY__SENT_RETENTION_HOURS``).
    """

    def __init__(self, engine: AsyncEngine, *, sent_retention: float) -> None:
        self._engine = engine
        self._sent_retention = sent_retention

    async def __aenter__(self) -> Self:
        """Nothing to open: connections are made on first use."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Release the engine's connections."""
        await self._engine.dispose()

    async def status(self) -> OutboxStatus:
        """Backlog, age of the oldest unsent row, parked rows, sent rows awaiting the purge."""
        async with self._engine.connect() as connection:
            retention = timedelta(seconds=self._sent_retention)
            row = (await connection.execute(_STATUS, {"retention": retention})).one()
        age = row.oldest_age
        return OutboxStatus(
            backlog=row.backlog,
            oldest_unsent_age=None if age is None else float(age),
            parked=row.parked,
            sent=row.sent,
            due_for_purge=row.due,
        )

    async def parked(self, *, limit: int = 50) -> list[ParkedRow]:
        """Parked rows in position (commit) order, at most ``limit``."""
        async with self._engine.connect() as connection:
            rows = await connection.execute(_LIST_PARKED.limit(limit))
            return [ParkedRow(**row._mapping) for row in rows]

    async def retry(self, positions: Sequence[int] | None) -> list[int]:
        """Hand parked rows back to the relay: ``positions``, or every parked row (``None``).

        All or nothing: :class:`OutboxRowNotParkedError` (and no change) when one of
        ``positions`` is not parked. Returns the positions retried, in order.
        """
        async with self._engine.begin() as connection:
            chosen = _RETRY if positions is None else _RETRY.where(outbox.c.position.in_(positions))
            result = await connection.execute(chosen.returning(outbox.c.position))
            retried = sorted(row.position for row in result)
            missing = sorted(set(positions or ()) - set(retried))
            if missing:
                listed = ", ".join(map(str, missing))
                raise OutboxRowNotParkedError(f"outbox row(s) {listed} not parked")
            if retried:
                await connection.execute(_NOTIFY)  # delivered at commit: the relay wakes
        _log.info("parked outbox rows retried", count=len(retried), positions=retried)
        return retried
