"""The event store on Postgres (SQLAlchemy Core + asyncpg), inside the unit of work.

Optimistic concurrency in one statement: the new rows are inserted only if the stream's
current version (``max(version)``) equals the expected one, and the ``(stream_id, version)``
unique key settles a race between two transactions that both saw that version (the second
blocks on the key until the first ends, then fails). Either way the caller gets a typed
:class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict`, never an
``IntegrityError``, and the store remembers it so that the unit of work refuses to commit.
See ``docs/adr/0011-event-store.md``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.eventsourcing.streams import (
    ConcurrencyConflict,
    NewEvent,
    RecordedEvent,
    Snapshot,
    StreamId,
    UpcasterRegistry,
)
from commerce.platform.kit.ids import TenantId, new_uuid7
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.postgres.event_store_sql import (
    APPEND,
    SELECTED,
    current_version,
    is_version_conflict,
    recorded_event,
)
from commerce.platform.postgres.tables import events as event_rows
from commerce.platform.postgres.tables import snapshots

__all__ = ["PostgresEventStore"]


class PostgresEventStore:
    """:class:`EventStore` on the ``events`` and ``snapshots`` tables.

    Bound to one connection whose transaction is scoped to ``tenant_id`` (row-level
    security); ``lineage`` (correlation and causation ids) goes into every event's metadata.
    ``upcasters`` bring every event read to its newest version (none by default: the
    composition root passes the service's own).
    """

    def __init__(
        self,
        connection: AsyncConnection,
        tenant_id: TenantId,
        *,
        lineage: Mapping[str, str] | None = None,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self._connection = connection
        self._tenant_id = tenant_id
        self._lineage = dict(lineage or {})
        self._upcasters = upcasters or UpcasterRegistry()
        self.conflict: ConcurrencyConflict | None = None
        """The conflict this transaction ran into, if any (the unit of work checks it)."""

    @classmethod
    def for_message(
        cls,
        connection: AsyncConnection,
        context: MessageContext,
        *,
        upcasters: UpcasterRegistry | None = None,
    ) -> PostgresEventStore:
        """The store of the message's tenant; its events are caused by the message."""
        lineage = {
            "correlation_id": str(context.correlation_id),
            "causation_id": str(context.message_id),
        }
        return cls(connection, context.tenant_id, lineage=lineage, upcasters=upcasters)

    async def append(
        self, stream: StreamId, expected_version: int, events: Sequence[NewEvent]
    ) -> list[RecordedEvent]:
        """Insert versions ``expected_version + 1`` onwards, or raise ``ConcurrencyConflict``."""
        if expected_version < 0:
            raise ValueError(f"expected_version must be >= 0, got {expected_version}")
        if not events:
            return []
        metadata = [
            {**event.metadata, **self._lineage, "event_id": str(new_uuid7())} for event in events
        ]
        parameters = {
            "tenant_id": self._tenant_id.value,
            "stream_type": stream.type,
            "stream_id": stream.id,
            "expected": expected_version,
            "versions": list(range(expected_version + 1, expected_version + len(events) + 1)),
            "event_types": [event.event_type for event in events],
            "payloads": [event.payload for event in events],
            "metadata": metadata,
        }
        try:
            inserted = sorted(
                (await self._connection.execute(APPEND, parameters)).all(),
                key=lambda row: int(row.version),
            )
        except IntegrityError as error:
            if not is_version_conflict(error):
                raise
            raise self._conflict(stream, expected_version, "another transaction won") from None
        if not inserted:
            actual = await self._connection.scalar(current_version(stream.id))
            raise self._conflict(stream, expected_version, f"the stream is at version {actual}")
        return [
            RecordedEvent(
                position=row.position,
                tenant_id=self._tenant_id,
                stream=stream,
                version=row.version,
                event_type=event.event_type,
                payload=event.payload,
                metadata=meta,
                recorded_at=row.recorded_at,
            )
            for row, event, meta in zip(inserted, events, metadata, strict=True)
        ]

    async def load(self, stream: StreamId, *, after_version: int = 0) -> list[RecordedEvent]:
        """The stream's events after ``after_version``, in version order, upcast."""
        query = (
            select(*SELECTED)
            .where(event_rows.c.stream_id == stream.id, event_rows.c.version > after_version)
            .order_by(event_rows.c.version)
        )
        rows = await self._connection.execute(query)
        return [recorded_event(row, self._upcasters) for row in rows]

    async def latest_snapshot(self, stream: StreamId) -> Snapshot | None:
        """The stream's snapshot, or ``None``."""
        query = select(snapshots).where(snapshots.c.stream_id == stream.id)
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return Snapshot(
            stream=StreamId(row.stream_type, row.stream_id),
            version=row.version,
            state=row.state,
            schema_version=row.schema_version,
            taken_at=row.taken_at,
        )

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Upsert the stream's snapshot, unless the stored one has a higher version."""
        statement = pg_insert(snapshots).values(
            tenant_id=self._tenant_id.value,
            stream_type=snapshot.stream.type,
            stream_id=snapshot.stream.id,
            version=snapshot.version,
            schema_version=snapshot.schema_version,
            state=snapshot.state,
        )
        excluded = statement.excluded
        await self._connection.execute(
            statement.on_conflict_do_update(
                index_elements=[snapshots.c.stream_id],
                set_={
                    "stream_type": excluded.stream_type,
                    "version": excluded.version,
                    "schema_version": excluded.schema_version,
                    "state": excluded.state,
                    "taken_at": func.now(),
                },
                where=snapshots.c.version <= excluded.version,
            )
        )

    def _conflict(self, stream: StreamId, expected: int, detail: str) -> ConcurrencyConflict:
        self.conflict = ConcurrencyConflict(stream, expected, detail)
        return self.conflict
