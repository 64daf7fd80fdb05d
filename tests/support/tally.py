"""A tiny event-sourced aggregate for event store tests, independent of the real domain.

A :class:`Tally` adds up amounts. Its one event type has three schema versions, so the
upcaster chain can be tested: ``Added.v1`` ``{"n": 3}`` -> ``Added.v2``
``{"amount": 3, "label": ""}`` -> ``Added.v3`` (adds ``"unit": "each"``), the one the
code writes today.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from commerce.platform.eventsourcing.repository import EventSourcedRepository
from commerce.platform.eventsourcing.streams import NewEvent, RecordedEvent, UpcasterRegistry
from commerce.platform.transactions.ports import EventStore

__all__ = [
    "ADDED_V1",
    "ADDED_V2",
    "ADDED_V3",
    "TALLY",
    "Added",
    "Tally",
    "TallyCodec",
    "replay_all",
    "tally_repository",
    "tally_upcasters",
]

TALLY = "tests.Tally"
ADDED_V1 = "tests.tally.Added.v1"
ADDED_V2 = "tests.tally.Added.v2"
ADDED_V3 = "tests.tally.Added.v3"


@dataclass(frozen=True, slots=True)
class Added:
    """``amount`` was added, described by ``label``, counted in ``unit``."""

    amount: int
    label: str = ""
    unit: str = "each"


class TallySnapshot(TypedDict):
    """The state of a tally as JSON."""

    version: int
    total: int
    labels: list[str]


@dataclass(slots=True)
class Tally:
    """The running total of every :class:`Added` event, and their labels in order."""

    version: int = 0
    total: int = 0
    labels: list[str] = field(default_factory=list)
    _pending: list[Added] = field(default_factory=list)

    @property
    def pending_events(self) -> tuple[Added, ...]:
        return tuple(self._pending)

    def collect_events(self) -> list[Added]:
        events, self._pending = self._pending, []
        return events

    def add(self, amount: int, label: str = "") -> None:
        event = Added(amount, label)
        self._apply(event)
        self._pending.append(event)

    def _apply(self, event: Added) -> None:
        self.version += 1
        self.total += event.amount
        self.labels.append(event.label)

    def snapshot(self) -> TallySnapshot:
        return {"version": self.version, "total": self.total, "labels": list(self.labels)}

    @classmethod
    def from_snapshot(cls, state: TallySnapshot) -> Tally:
        return cls(version=state["version"], total=state["total"], labels=list(state["labels"]))

    @classmethod
    def replay(cls, events: Iterable[Added], *, start_from: Tally | None = None) -> Tally:
        tally = start_from if start_from is not None else cls()
        for event in events:
            tally._apply(event)
        return tally

    def same_state(self, other: Tally) -> bool:
        """Equal version, total and labels (pending events aside)."""
        return (self.version, self.total, self.labels) == (other.version, other.total, other.labels)


class TallyCodec:
    """Writes ``Added.v3``; reads only ``Added.v3`` (older versions arrive upcast)."""

    def encode(self, event: Added) -> NewEvent:
        payload: dict[str, Any] = {"amount": event.amount, "label": event.label, "unit": event.unit}
        return NewEvent(event_type=ADDED_V3, payload=payload)

    def decode(self, event: RecordedEvent) -> Added:
        if event.event_type != ADDED_V3:
            raise ValueError(f"cannot decode {event.event_type}")
        payload = event.payload
        return Added(payload["amount"], payload["label"], payload["unit"])


def tally_upcasters() -> UpcasterRegistry:
    """``v1 -> v2`` renames ``n`` and adds a label; ``v2 -> v3`` adds the unit."""
    registry = UpcasterRegistry()
    registry.bump(ADDED_V1, lambda p: {"amount": p["n"], "label": ""})
    registry.bump(ADDED_V2, lambda p: {**p, "unit": "each"})
    return registry


def tally_repository(
    store: EventStore, *, snapshot_every: int = 50, snapshot_schema: int = 1
) -> EventSourcedRepository[Tally, Added]:
    """Tallies in ``store``."""
    return EventSourcedRepository(
        store,
        stream_type=TALLY,
        aggregate_type=Tally,
        codec=TallyCodec(),
        snapshot_every=snapshot_every,
        snapshot_schema=snapshot_schema,
    )


def replay_all(events: Sequence[RecordedEvent]) -> Tally:
    """A tally rebuilt from every event of its stream (no snapshot)."""
    codec = TallyCodec()
    return Tally.replay([codec.decode(e) for e in events])
