"""The SQL of the ``events`` table: the one-statement optimistic append, a stream's current
version, and stored rows read back as upcast :class:`RecordedEvent` values.

Shared by :class:`~commerce.platform.postgres.event_store.PostgresEventStore` (one tenant, inside
the unit of work) and the projection rebuild's event source (every tenant, owner role).
"""

from __future__ import annotations

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
from sqlalchemy.exc import IntegrityError

from commerce.platform.eventsourcing.streams import RecordedEvent, StreamId, UpcasterRegistry
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.tables import events as event_rows

__all__ = ["APPEND", "SELECTED", "current_version", "is_version_conflict", "recorded_event"]

_UNIQUE_VERSION = "uq_events_stream_id_version"
_INSERTED = [
    "tenant_id",
    "stream_type",
    "stream_id",
    "version",
    "event_type",
    "payload",
    "metadata",
]
SELECTED = [column for column in event_rows.c if column.name != "txid"]
"""The columns a :class:`RecordedEvent` is built from."""


def is_version_conflict(error: IntegrityError) -> bool:
    """Whether ``error`` is the ``(stream_id, version)`` unique key refusing a row."""
    cause = error.orig.__cause__ if error.orig is not None else None
    return isinstance(cause, UniqueViolationError) and cause.constraint_name == _UNIQUE_VERSION


def current_version(stream_id: UUID | BindParameter[UUID]) -> Select[tuple[int]]:
    """``SELECT coalesce(max(version), 0)`` of one stream."""
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
        .where(current_version(stream_id).scalar_subquery() == bindparam("expected"))
        .order_by(new.c.version)
    )
    return (
        event_rows.insert()
        .from_select(_INSERTED, rows)
        .returning(event_rows.c.position, event_rows.c.version, event_rows.c.recorded_at)
    )


APPEND = _append_statement()
"""The append: parameters ``tenant_id, stream_type, stream_id, expected, versions,
event_types, payloads, metadata``; no row returned means a stale expected version."""


def recorded_event(row: Row[Any], upcasters: UpcasterRegistry) -> RecordedEvent:
    """An ``events`` row as a :class:`RecordedEvent`, upcast to its newest version."""
    event_type, payload = upcasters.upcast(row.event_type, row.payload)
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
