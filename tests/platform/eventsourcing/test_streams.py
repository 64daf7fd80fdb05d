"""Upcaster registry, versioned event type names, conflicts and the snapshot rule."""

import pickle
from uuid import uuid4

import pytest

from commerce.platform.eventsourcing.repository import snapshot_due
from commerce.platform.eventsourcing.streams import (
    ConcurrencyConflict,
    NewEvent,
    StreamId,
    UpcasterRegistry,
    split_event_type,
)

pytestmark = pytest.mark.unit


def test_versioned_names_split_into_name_and_version() -> None:
    assert split_event_type("commerce.orders.OrderPlaced.v12") == (
        "commerce.orders.OrderPlaced",
        12,
    )
    for bad in ("commerce.orders.OrderPlaced", "x.v0", "x.V1", ".v1", "x.v1 "):
        with pytest.raises(ValueError, match=r"name\.v<N>"):
            split_event_type(bad)
    with pytest.raises(ValueError, match=r"name\.v<N>"):
        NewEvent(event_type="OrderPlaced", payload={})


def test_upcasters_chain_and_leave_unknown_types_alone() -> None:
    registry = UpcasterRegistry()
    registry.bump("a.Thing.v1", lambda p: {"size": p["n"]})
    registry.register("a.Thing.v2", lambda p: ("a.Renamed.v1", {**p, "unit": "m"}))
    assert registry.upcast("a.Thing.v1", {"n": 3}) == ("a.Renamed.v1", {"size": 3, "unit": "m"})
    assert registry.upcast("a.Renamed.v1", {"x": 1}) == ("a.Renamed.v1", {"x": 1})
    assert registry.upcast("b.Other.v1", {"x": 1}) == ("b.Other.v1", {"x": 1})
    assert "a.Thing.v1" in registry
    assert "a.Renamed.v1" not in registry


def test_an_upcaster_is_registered_once_and_loops_are_refused() -> None:
    registry = UpcasterRegistry()
    registry.register("a.Thing.v1", lambda p: ("a.Thing.v2", p))
    with pytest.raises(ValueError, match="already registered"):
        registry.bump("a.Thing.v1", dict)
    registry.register("a.Thing.v2", lambda p: ("a.Thing.v1", p))
    with pytest.raises(ValueError, match="loop"):
        registry.upcast("a.Thing.v1", {})


def test_a_conflict_names_the_stream_and_survives_pickling() -> None:
    stream = StreamId("commerce.orders.Order", uuid4())
    conflict = ConcurrencyConflict(stream, 3, "the stream is at version 5")
    assert str(stream) in str(conflict)
    copy = pickle.loads(pickle.dumps(conflict))
    assert (copy.stream, copy.expected_version, str(copy)) == (stream, 3, str(conflict))


@pytest.mark.parametrize(
    ("before", "after", "every", "due"),
    [
        (0, 1, 1, True),
        (0, 49, 50, False),
        (49, 50, 50, True),
        (48, 52, 50, True),
        (50, 99, 50, False),
    ],
)
def test_a_snapshot_is_due_when_a_multiple_is_crossed(
    before: int, after: int, every: int, due: bool
) -> None:
    assert snapshot_due(before, after, every) is due
