"""Loading and saving event-sourced aggregates through an :class:`EventStore`.

:class:`EventSourcedRepository` works with any aggregate that meets the small protocols
below, whatever its events are: loading restores the newest snapshot (when its shape is
current) and replays the events after it; saving appends the pending events with the
version the aggregate was loaded at as the expected version, and takes a snapshot when the
version crosses a multiple of ``snapshot_every``. The caller publishes the saved events to
the outbox in the same unit of work::

    orders = EventSourcedRepository(uow.events, stream_type="commerce.orders.Order",
                                    aggregate_type=Order, codec=ORDER_EVENTS,
                                    snapshot_every=settings.event_store.snapshot_every)
    order = await orders.load(order_id)
    order.confirm(now=clock.now())
    uow.outbox.publish(await orders.save(order_id, order))
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol
from uuid import UUID

from commerce.platform.eventsourcing.streams import NewEvent, RecordedEvent, Snapshot, StreamId
from commerce.platform.transactions.ports import EventStore

__all__ = [
    "AggregateType",
    "EventCodec",
    "EventSourcedAggregate",
    "EventSourcedRepository",
    "snapshot_due",
]


class EventSourcedAggregate[E](Protocol):
    """What the repository needs of an aggregate instance recording events of type ``E``."""

    @property
    def version(self) -> int:
        """The version after every applied event, pending ones included (0: no events)."""
        ...

    @property
    def pending_events(self) -> Sequence[E]:
        """Events recorded since the aggregate was loaded or last saved, oldest first."""
        ...

    def collect_events(self) -> list[E]:
        """Hand over the pending events and forget them (they are saved)."""
        ...

    def snapshot(self) -> Mapping[str, Any]:
        """The state as a JSON object (e.g. a ``TypedDict``) that ``from_snapshot`` restores.

        It must carry the version: ``from_snapshot(snapshot()).version == version``.
        """
        ...


class AggregateType[A, E](Protocol):
    """What the repository needs of the aggregate's class (classmethods, or any factory)."""

    def replay(self, events: Sequence[E], /, *, start_from: A | None = None) -> A:
        """Apply ``events`` in order to ``start_from`` (restored from a snapshot, changed in
        place) or, without it, rebuild from the stream's first event.

        ``events`` is empty only when ``start_from`` is given.
        """
        ...

    def from_snapshot(self, state: Any, /) -> A:
        """Restore the aggregate (no pending events) from what ``snapshot()`` returned.

        ``state`` comes back from JSON storage; the aggregate validates its layout.
        """
        ...


class EventCodec[E](Protocol):
    """Maps domain events to stored events and back (after upcasting)."""

    def encode(self, event: E) -> NewEvent:
        """The versioned type and JSON payload of ``event``."""
        ...

    def decode(self, event: RecordedEvent) -> E:
        """The domain event of a stored one (its type is the newest version)."""
        ...


def snapshot_due(before: int, after: int, every: int) -> bool:
    """Whether going from version ``before`` to ``after`` crosses a multiple of ``every``."""
    return after // every > before // every


class EventSourcedRepository[A, E]:
    """Aggregates of one type in an :class:`EventStore` (usually ``uow.events``)."""

    def __init__(
        self,
        store: EventStore,
        *,
        stream_type: str,
        aggregate_type: AggregateType[A, E],
        codec: EventCodec[E],
        snapshot_every: int,
        snapshot_schema: int = 1,
    ) -> None:
        """``snapshot_schema`` is the shape of :meth:`EventSourcedAggregate.snapshot`: bump it
        when that shape changes, and older snapshots are ignored (full replay) until replaced.
        """
        if snapshot_every < 1:
            raise ValueError(f"snapshot_every must be >= 1, got {snapshot_every}")
        self._store = store
        self._stream_type = stream_type
        self._type = aggregate_type
        self._codec = codec
        self._every = snapshot_every
        self._schema = snapshot_schema

    def stream(self, aggregate_id: UUID) -> StreamId:
        """The stream of the aggregate ``aggregate_id``."""
        return StreamId(self._stream_type, aggregate_id)

    async def load(self, aggregate_id: UUID) -> A | None:
        """The aggregate from its snapshot plus the events after it; ``None`` if none.

        A snapshot of another ``snapshot_schema`` is ignored: the whole stream is replayed.
        """
        stream = self.stream(aggregate_id)
        snapshot = await self._store.latest_snapshot(stream)
        start: A | None = None
        if snapshot is not None and snapshot.schema_version == self._schema:
            start = self._type.from_snapshot(snapshot.state)
        after = snapshot.version if start is not None and snapshot is not None else 0
        tail = await self._store.load(stream, after_version=after)
        if start is None and not tail:
            return None
        return self._type.replay([self._codec.decode(event) for event in tail], start_from=start)

    async def save(self, aggregate_id: UUID, aggregate: EventSourcedAggregate[E]) -> list[E]:
        """Append the pending events and return them (for the outbox); snapshot when due.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stream moved on since the aggregate was loaded; the command is then retried.
        """
        pending = list(aggregate.pending_events)
        if not pending:
            return []
        stream = self.stream(aggregate_id)
        expected = aggregate.version - len(pending)
        await self._store.append(stream, expected, [self._codec.encode(e) for e in pending])
        if snapshot_due(expected, aggregate.version, self._every):
            await self._store.save_snapshot(
                Snapshot(
                    stream=stream,
                    version=aggregate.version,
                    state=dict(aggregate.snapshot()),
                    schema_version=self._schema,
                )
            )
        return aggregate.collect_events()
