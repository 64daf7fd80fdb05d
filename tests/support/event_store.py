"""An in-memory event store that behaves like the Postgres one (as
``tests/platform/eventsourcing/test_event_store_contract.py`` proves).

:class:`InMemoryEventLog` is the fake database's committed events and snapshots, shared by
every open unit of work (deep copies of the fake store keep pointing at it), plus the
``(stream id, version)`` keys that open transactions have appended: the fake's stand-in for
the unique index. :class:`InMemoryEventStore` is one transaction's view of it.

One difference from Postgres: an append that collides with another transaction's
*uncommitted* version fails at once, where Postgres waits for that transaction and lets
the append through if it rolls back. Tests should not depend on that case.
"""

from __future__ import annotations

import copy
import itertools
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Self
from uuid import UUID

from commerce.orders.application.upcasters import STORED_EVENT_UPCASTERS
from commerce.platform.eventsourcing.streams import (
    ConcurrencyConflict,
    NewEvent,
    Payload,
    RecordedEvent,
    Snapshot,
    StreamId,
    UpcasterRegistry,
)
from commerce.platform.kit.ids import TenantId, new_uuid7

__all__ = ["InMemoryEventLog", "InMemoryEventStore", "as_jsonb"]


def as_jsonb(value: Mapping[str, Any]) -> Payload:
    """What a ``jsonb`` round trip makes of ``value`` (a fresh copy); refuses what it would."""
    text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    if "\\u0000" in text:
        raise ValueError("jsonb cannot store \\u0000")
    try:
        text.encode()
    except UnicodeEncodeError as error:
        raise ValueError("jsonb cannot store lone surrogates") from error
    decoded: Payload = json.loads(text)
    return decoded


class InMemoryEventLog:
    """Committed events (as stored, before upcasting) and snapshots of every tenant."""

    def __init__(self) -> None:
        self.events: list[RecordedEvent] = []
        self.snapshots: dict[UUID, tuple[TenantId, Snapshot]] = {}
        self.keys: set[tuple[UUID, int]] = set()
        self.claims: dict[tuple[UUID, int], InMemoryEventStore] = {}
        self._positions = itertools.count(1)

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        return self  # shared, like the database: units of work copy the rest of the store

    def next_position(self) -> int:
        """The next value of the ``position`` sequence (rolled-back values leave gaps)."""
        return next(self._positions)


class InMemoryEventStore:
    """:class:`commerce.platform.transactions.ports.EventStore` for one (fake) transaction."""

    def __init__(
        self,
        log: InMemoryEventLog,
        tenant_id: TenantId,
        *,
        lineage: Mapping[str, str] | None = None,
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self._log = log
        self._tenant_id = tenant_id
        self._lineage = dict(lineage or {})
        self._upcasters = upcasters or STORED_EVENT_UPCASTERS
        self._events: list[RecordedEvent] = []
        self._snapshots: list[Snapshot] = []
        self.conflict: ConcurrencyConflict | None = None

    def _visible(self) -> list[RecordedEvent]:
        committed = [e for e in self._log.events if e.tenant_id == self._tenant_id]
        return committed + self._events

    async def append(
        self, stream: StreamId, expected_version: int, events: Sequence[NewEvent]
    ) -> list[RecordedEvent]:
        """Append like Postgres: version check, then the unique key across all tenants."""
        if expected_version < 0:
            raise ValueError(f"expected_version must be >= 0, got {expected_version}")
        if not events:
            return []
        current = max((e.version for e in self._visible() if e.stream.id == stream.id), default=0)
        if current != expected_version:
            raise self._conflict(stream, expected_version, f"the stream is at version {current}")
        keys = [(stream.id, expected_version + n) for n in range(1, len(events) + 1)]
        if any(k in self._log.keys or self._log.claims.get(k, self) is not self for k in keys):
            raise self._conflict(stream, expected_version, "another transaction won")
        now = datetime.now(UTC)
        recorded = [
            RecordedEvent(
                position=self._log.next_position(),
                tenant_id=self._tenant_id,
                stream=stream,
                version=version,
                event_type=event.event_type,
                payload=as_jsonb(event.payload),
                metadata=as_jsonb(
                    {**event.metadata, **self._lineage, "event_id": str(new_uuid7())}
                ),
                recorded_at=now,
            )
            for (_, version), event in zip(keys, events, strict=True)
        ]
        for key in keys:
            self._log.claims[key] = self
        self._events.extend(recorded)
        return [copy.deepcopy(event) for event in recorded]

    async def load(self, stream: StreamId, *, after_version: int = 0) -> list[RecordedEvent]:
        """The stream's events after ``after_version``, upcast."""
        found = [
            e for e in self._visible() if e.stream.id == stream.id and e.version > after_version
        ]
        return [self._upcast(e) for e in sorted(found, key=lambda e: e.version)]

    async def latest_snapshot(self, stream: StreamId) -> Snapshot | None:
        """This transaction's newest snapshot of the stream, else the committed one."""
        for snapshot in reversed(self._snapshots):
            if snapshot.stream.id == stream.id:
                return copy.deepcopy(snapshot)
        tenant, committed = self._log.snapshots.get(stream.id, (None, None))
        return copy.deepcopy(committed) if tenant == self._tenant_id else None

    async def save_snapshot(self, snapshot: Snapshot) -> None:
        """Stage the snapshot; on commit it replaces an older one of the stream."""
        current = await self.latest_snapshot(snapshot.stream)
        if current is None or current.version <= snapshot.version:
            state = as_jsonb(snapshot.state)
            taken_at = datetime.now(UTC)
            self._snapshots.append(
                Snapshot(
                    stream=snapshot.stream,
                    version=snapshot.version,
                    state=state,
                    schema_version=snapshot.schema_version,
                    taken_at=taken_at,
                )
            )

    def mark(self) -> tuple[int, int, ConcurrencyConflict | None]:
        """Where this transaction stands, for a savepoint."""
        return len(self._events), len(self._snapshots), self.conflict

    def restore(self, mark: tuple[int, int, ConcurrencyConflict | None]) -> None:
        """Roll back to a :meth:`mark` (events, snapshots and conflict after it are gone)."""
        events, snapshots, self.conflict = mark
        self._release(self._events[events:])
        del self._events[events:]
        del self._snapshots[snapshots:]

    def commit(self) -> None:
        """Make the appends and snapshots visible; raises a conflict met on the way."""
        if self.conflict is not None:
            raise self.conflict
        for event in self._events:
            self._log.events.append(event)
            self._log.keys.add((event.stream.id, event.version))
        for snapshot in self._snapshots:
            _, current = self._log.snapshots.get(snapshot.stream.id, (None, None))
            if current is None or current.version <= snapshot.version:
                self._log.snapshots[snapshot.stream.id] = (self._tenant_id, snapshot)
        self.rollback()

    def rollback(self) -> None:
        """Forget everything not committed (a no-op after :meth:`commit`)."""
        self._release(self._events)
        self._events, self._snapshots = [], []

    def _release(self, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            self._log.claims.pop((event.stream.id, event.version), None)

    def _conflict(self, stream: StreamId, expected: int, detail: str) -> ConcurrencyConflict:
        self.conflict = ConcurrencyConflict(stream, expected, detail)
        return self.conflict

    def _upcast(self, event: RecordedEvent) -> RecordedEvent:
        event_type, payload = self._upcasters.upcast(event.event_type, copy.deepcopy(event.payload))
        return RecordedEvent(
            position=event.position,
            tenant_id=event.tenant_id,
            stream=event.stream,
            version=event.version,
            event_type=event_type,
            payload=payload,
            metadata=dict(event.metadata),
            recorded_at=event.recorded_at,
        )
