"""The event store on Postgres (SQLAlchemy Core + asyncpg), inside the unit of work.

Optimistic concurrency in one statement: the new rows are inserted only if the stream's
current version (``max(version)``) equals the expected one, and the ``(stream_id, version)``
unique key settles a race between two transactions that both saw that version (the second
blocks on the key until the first ends, then fails). Either way the caller gets a typed
:class:`~commerce.application.event_sourcing.ConcurrencyConflict`, never an
``IntegrityError``, and the store remembers it so that the unit of work refuses to commit.
See ``docs/adr/0011-event-store.md``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from uuid import UUID

from asyncpg.exceptions import UniqueViolationError
from sqlalchemy import (
    BindParameter,
    Insert,
    Integer,
    Row,
    Select,
    Text,
    bindparam,
    column,
    func,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.dialects.postgresql import UUID as PgUUID
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.adapters.database import set_tenant
from commerce.adapters.orm import events as event_rows
from commerce.adapters.orm import snapshots
from commerce.application.context import MessageContext
from commerce.application.event_sourcing import (
    ConcurrencyConflict,
    NewEvent,
    RecordedEvent,
    Snapshot,
    StreamId,
    UpcasterRegistry,
)
from commerce.domain.values import TenantId, new_uuid7

__all__ = ["PostgresEventStore", "read_all_consistent"]

_UNIQUE_VERSION = "uq_events_stream_id_version"
_NO_UPCASTERS = UpcasterRegistry()
_INSERTED = [
    "tenant_id",
    "stream_type",
    "stream_id",
    "version",
    "event_type",
    "payload",
    "metadata",
]
_SELECTED = [column for column in event_rows.c if column.name != "txid"]


def _is_version_conflict(error: IntegrityError) -> bool:
    cause = error.orig.__cause__ if error.orig is not None else None
    return isinstance(cause, UniqueViolationError) and cause.constraint_name == _UNIQUE_VERSION


def _current_version(stream_id: UUID | BindParameter[UUID]) -> Select[tuple[int]]:
    return select(func.coalesce(func.max(event_rows.c.version), 0)).where(
        event_rows.c.stream_id == stream_id
    )


def _append_statement() -> Insert:
    """``INSERT ... SELECT FROM unnest(...) WHERE <current version> = :expected RETURNING``.

    One cached statement for any number of events: the rows travel as arrays.
    """
    new = (
        func.unnest(
            bindparam("versions", type_=ARRAY(Integer)),
            bindparam("event_types", type_=ARRAY(Text)),
            bindparam("payloads", type_=ARRAY(JSONB)),
            bindparam("metadata", type_=ARRAY(JSONB)),
        )
        .table_valued(
            column("version", Integer),
            column("event_type", Text),
            column("payload", JSONB),
            column("metadata", JSONB),
            name="new",
        )
        .render_derived()
    )
    stream_id = bindparam("stream_id", type_=PgUUID(as_uuid=True))
    rows = (
        select(
            bindparam("tenant_id", type_=PgUUID(as_uuid=True)),
            bindparam("stream_type", type_=Text),
            stream_id,
            new.c.version,
            new.c.event_type,
            new.c.payload,
            new.c["metadata"],
        )
        .where(_current_version(stream_id).scalar_subquery() == bindparam("expected"))
        .order_by(new.c.version)
    )
    return (
        event_rows.insert()
        .from_select(_INSERTED, rows)
        .returning(event_rows.c.position, event_rows.c.version, event_rows.c.recorded_at)
    )


_APPEND = _append_statement()


class PostgresEventStore:
    """:class:`commerce.application.ports.EventStore` on the ``events`` and ``snapshots`` tables.

    Bound to one connection whose transaction is scoped to ``tenant_id`` (row-level
    security); ``lineage`` (correlation and causation ids) goes into every event's metadata.
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
        self._upcasters = upcasters or _NO_UPCASTERS
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
                (await self._connection.execute(_APPEND, parameters)).all(),
                key=lambda row: int(row.version),
            )
        except IntegrityError as error:
            if not _is_version_conflict(error):
                raise
            raise self._conflict(stream, expected_version, "another transaction won") from None
        if not inserted:
            actual = await self._connection.scalar(_current_version(stream.id))
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
            select(*_SELECTED)
            .where(event_rows.c.stream_id == stream.id, event_rows.c.version > after_version)
            .order_by(event_rows.c.version)
        )
        return [self._recorded(row) for row in await self._connection.execute(query)]

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

    async def read_all(self, *, after_position: int = 0, limit: int = 500) -> list[RecordedEvent]:
        """The tenant's events after ``after_position``, by position (see the port)."""
        if limit < 1:
            raise ValueError(f"limit must be >= 1, got {limit}")
        query = (
            select(*_SELECTED)
            .where(event_rows.c.position > after_position)
            .order_by(event_rows.c.position)
            .limit(limit)
        )
        return [self._recorded(row) for row in await self._connection.execute(query)]

    def _conflict(self, stream: StreamId, expected: int, detail: str) -> ConcurrencyConflict:
        self.conflict = ConcurrencyConflict(stream, expected, detail)
        return self.conflict

    def _recorded(self, row: Row[*tuple[Any, ...]]) -> RecordedEvent:
        event_type, payload = self._upcasters.upcast(row.event_type, row.payload)
        return RecordedEvent(
            position=row.position,
            tenant_id=TenantId(row.tenant_id),
            stream=StreamId(row.stream_type, row.stream_id),
            version=row.version,
            event_type=event_type,
            payload=payload,
            metadata=row.metadata,
            recorded_at=row.recorded_at,
        )


async def read_all_consistent(
    engine: AsyncEngine,
    tenant_id: TenantId,
    *,
    after_position: int = 0,
    batch_size: int = 500,
    upcasters: UpcasterRegistry | None = None,
) -> AsyncIterator[RecordedEvent]:
    """Every event of the tenant after ``after_position``, from one consistent snapshot.

    Pages through a single ``REPEATABLE READ, READ ONLY`` transaction, so no event is
    skipped because its transaction committed after a later position was read (positions
    follow insertion, not commit). Events committed after the snapshot are not included:
    a projection rebuild catches up on them from the outbox, idempotently by version.
    """
    async with engine.connect() as connection:
        snapshot = await connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with snapshot.begin():
            await set_tenant(snapshot, tenant_id.value)
            store = PostgresEventStore(snapshot, tenant_id, upcasters=upcasters)
            while batch := await store.read_all(after_position=after_position, limit=batch_size):
                for event in batch:
                    yield event
                after_position = batch[-1].position
