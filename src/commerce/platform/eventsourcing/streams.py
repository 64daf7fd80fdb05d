"""Event sourcing, store side: streams, stored events, snapshots, conflicts and upcasters.

Plain data and pure functions shared by the :class:`EventStore`
port, its Postgres adapter and the in-memory fake. Payloads and snapshot states are JSON
objects (``dict`` of JSON values: no datetimes, tuples or NaN; encode them first). Event
types are versioned names, ``commerce.<context>.<EventName>.v<N>``, as on the wire; an
upcaster turns a stored ``.v1`` payload into the ``.v2`` shape when it is loaded, so
events stored long ago still load after the schema moved on. See
``docs/adr/0011-event-store.md``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from commerce.platform.kit.ids import TenantId

__all__ = [
    "ConcurrencyConflict",
    "NewEvent",
    "Payload",
    "RecordedEvent",
    "Snapshot",
    "StreamId",
    "Upcaster",
    "UpcasterRegistry",
    "split_event_type",
]

type Payload = dict[str, Any]
"""A JSON object: an event's payload or an aggregate's snapshot state."""

type Upcaster = Callable[[Payload], tuple[str, Payload]]
"""Turns one stored payload of a type into the next: ``payload -> (new type, new payload)``."""

_VERSIONED = re.compile(r"^(?P<name>[A-Za-z_][\w.]*)\.v(?P<version>[1-9][0-9]*)$")
_MAX_UPCASTS = 100


class ConcurrencyConflict(Exception):
    """Another writer appended to the stream since the caller loaded it.

    Raised by :meth:`EventStore.append` when the expected version
    is not the stream's current version, or when a concurrent transaction wins the race for
    the same version (the ``(stream_id, version)`` unique key). Not a
    :class:`~commerce.platform.kit.errors.DomainError`: it is transient, and the retry machinery
    retries the **whole command** (load, decide, append), which then sees the winner's events.

    A conflict dooms the unit of work: committing it afterwards raises the conflict again.
    Only rolling back the savepoint around the handler (what ``process_command`` does when the
    handler raises) makes the transaction usable again.
    """

    def __init__(self, stream: StreamId, expected_version: int, detail: str) -> None:
        self.stream = stream
        self.expected_version = expected_version
        self.detail = detail
        super().__init__(
            f"concurrency conflict on {stream}: expected version {expected_version}, {detail}"
        )

    def __reduce__(self) -> tuple[type[ConcurrencyConflict], tuple[StreamId, int, str]]:
        return type(self), (self.stream, self.expected_version, self.detail)


@dataclass(frozen=True, slots=True)
class StreamId:
    """One aggregate's stream: its type (e.g. ``commerce.orders.Order``) and its id.

    The id alone identifies the stream in storage (``UNIQUE (stream_id, version)`` spans
    tenants and types), so it must be globally unique: a UUID of the aggregate.
    """

    type: str
    id: UUID

    def __str__(self) -> str:
        return f"{self.type}/{self.id}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NewEvent:
    """An event to append; the store gives it its version, position and metadata."""

    event_type: str
    """Versioned type name, ``commerce.orders.OrderPlaced.v1``."""
    payload: Payload
    metadata: Mapping[str, str] = field(default_factory=dict)
    """Extra metadata; the store adds ``event_id``, ``correlation_id`` and ``causation_id``."""

    def __post_init__(self) -> None:
        split_event_type(self.event_type)


@dataclass(frozen=True, slots=True, kw_only=True)
class RecordedEvent:
    """An event as stored, after upcasting: ``event_type`` is the newest known version."""

    position: int
    """Global order of insertion, not of commit: a transaction still open may commit a
    smaller position later (projection rebuilds account for it, ADR 0013)."""
    tenant_id: TenantId
    stream: StreamId
    version: int
    """1 for the stream's first event, then consecutive."""
    event_type: str
    payload: Payload
    metadata: Mapping[str, str]
    recorded_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class Snapshot:
    """An aggregate's state after ``version`` events, so loading replays only the tail.

    ``schema_version`` is the shape of ``state``; a loader ignores snapshots of another
    shape (it replays the whole stream and the next snapshot replaces the stale one).
    """

    stream: StreamId
    version: int
    state: Payload
    schema_version: int = 1
    taken_at: datetime | None = None
    """Set by the store when it saves the snapshot; ignored on save."""


def split_event_type(event_type: str) -> tuple[str, int]:
    """``"commerce.orders.OrderPlaced.v2"`` -> ``("commerce.orders.OrderPlaced", 2)``.

    Raises :class:`ValueError` for a name without a ``.v<N>`` suffix.
    """
    match = _VERSIONED.match(event_type)
    if match is None:
        raise ValueError(f"event type must look like 'name.v<N>', got {event_type!r}")
    return match["name"], int(match["version"])


class UpcasterRegistry:
    """Upcasters by stored event type, applied in a chain (``v1 -> v2 -> v3``) on load.

    Register with :meth:`register` (any target type, e.g. a rename) or with :meth:`bump`
    (same name, next version). Upcasters are pure functions of the payload; they receive a
    payload they may mutate and must not touch anything else.
    """

    def __init__(self) -> None:
        self._upcasters: dict[str, Upcaster] = {}

    def register(self, event_type: str, upcaster: Upcaster) -> None:
        """Upcast stored payloads of ``event_type`` with ``upcaster``; one per type."""
        split_event_type(event_type)
        if event_type in self._upcasters:
            raise ValueError(f"an upcaster for {event_type} is already registered")
        self._upcasters[event_type] = upcaster

    def bump(self, event_type: str, change: Callable[[Payload], Payload]) -> None:
        """Upcast ``name.vN`` to ``name.v(N+1)`` by applying ``change`` to the payload."""
        name, version = split_event_type(event_type)
        target = f"{name}.v{version + 1}"
        self.register(event_type, lambda payload: (target, change(payload)))

    def upcast(self, event_type: str, payload: Payload) -> tuple[str, Payload]:
        """Apply the chain starting at ``event_type``; unknown types come back unchanged."""
        seen = {event_type}
        while (upcaster := self._upcasters.get(event_type)) is not None:
            event_type, payload = upcaster(payload)
            split_event_type(event_type)
            if event_type in seen or len(seen) > _MAX_UPCASTS:
                raise ValueError(f"upcasters loop through {event_type}")
            seen.add(event_type)
        return event_type, payload

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._upcasters
