"""Properties of the event store and the event-sourced repository (in-memory store).

The in-memory store passes the same contract as the Postgres one
(``test_event_store_contract.py``, next to this file); here Hypothesis explores many
histories against it. It never suspends, so coroutines are driven without an event loop.
"""

from collections.abc import Coroutine
from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.eventsourcing.repository import snapshot_due
from commerce.platform.eventsourcing.streams import ConcurrencyConflict, NewEvent, StreamId
from commerce.platform.kit.ids import TenantId
from tests.support.event_store import InMemoryEventLog, InMemoryEventStore, as_jsonb
from tests.support.tally import (
    ADDED_V1,
    ADDED_V2,
    ADDED_V3,
    TALLY,
    Tally,
    replay_all,
    tally_repository,
    tally_upcasters,
)

pytestmark = pytest.mark.property

_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=8)
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TEXT, inner, max_size=4),
    max_leaves=12,
)
_PAYLOAD = st.dictionaries(_TEXT, _JSON, max_size=5)
_BATCHES = st.lists(st.lists(_PAYLOAD, min_size=1, max_size=4), min_size=1, max_size=6)


def run[T](coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine that never suspends (the in-memory store's) to completion."""
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value  # type: ignore[no-any-return]
    coroutine.close()
    raise AssertionError("the in-memory event store suspended")


class Database:
    """An in-memory event log and the transactions (stores) opened on it."""

    def __init__(self) -> None:
        self.log = InMemoryEventLog()
        self.tenant = TenantId(uuid4())

    def transaction(self) -> InMemoryEventStore:
        return InMemoryEventStore(self.log, self.tenant, upcasters=tally_upcasters())

    def append(self, stream: StreamId, expected: int, events: list[NewEvent]) -> None:
        store = self.transaction()
        run(store.append(stream, expected, events))
        store.commit()


def _events(payloads: list[dict[str, Any]]) -> list[NewEvent]:
    return [NewEvent(event_type="tests.Anything.v1", payload=p) for p in payloads]


@given(batches=_BATCHES)
def test_appended_payloads_load_back_unchanged(batches: list[list[dict[str, Any]]]) -> None:
    """Property: load(append(batches)) == the payloads in order, versions 1..n (round trip)."""
    db, stream = Database(), StreamId("tests.Anything", uuid4())
    version = 0
    for batch in batches:
        db.append(stream, version, _events(batch))
        version += len(batch)
    loaded = run(db.transaction().load(stream))
    assert [e.payload for e in loaded] == [as_jsonb(p) for batch in batches for p in batch]
    assert [e.version for e in loaded] == list(range(1, version + 1))


@given(plan=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=12))
def test_each_stream_keeps_its_order_and_positions_follow_append_order(
    plan: list[tuple[int, int]],
) -> None:
    """Property (event order preservation): whatever the interleaving of appends to several
    streams, each stream loads in the order it was appended, and positions grow with it."""
    db = Database()
    streams = [StreamId("tests.Anything", uuid4()) for _ in range(3)]
    appended: dict[int, list[int]] = {0: [], 1: [], 2: []}
    sequence = 0
    for index, size in plan:
        numbers = list(range(sequence, sequence + size))
        db.append(streams[index], len(appended[index]), _events([{"n": n} for n in numbers]))
        appended[index].extend(numbers)
        sequence += size
    store = db.transaction()
    everything = []
    for index, stream in enumerate(streams):
        loaded = run(store.load(stream))
        assert [e.payload["n"] for e in loaded] == appended[index]
        everything.extend(loaded)
    by_position = sorted(everything, key=lambda e: e.position)
    assert [e.payload["n"] for e in by_position] == list(range(sequence))


@given(length=st.integers(0, 8), expected=st.integers(0, 12), size=st.integers(1, 3))
def test_any_wrong_expected_version_conflicts_and_changes_nothing(
    length: int, expected: int, size: int
) -> None:
    """Property: append(expected) succeeds iff expected == current version; else conflict."""
    db, stream = Database(), StreamId("tests.Anything", uuid4())
    if length:
        db.append(stream, 0, _events([{"i": i} for i in range(length)]))
    store = db.transaction()
    if expected == length:
        run(store.append(stream, expected, _events([{}] * size)))
        store.commit()
        assert len(run(db.transaction().load(stream))) == length + size
        return
    with pytest.raises(ConcurrencyConflict):
        run(store.append(stream, expected, _events([{}] * size)))
    with pytest.raises(ConcurrencyConflict):
        store.commit()
    store.rollback()
    assert len(run(db.transaction().load(stream))) == length


@given(
    batches=st.lists(st.lists(st.integers(-100, 100), min_size=1, max_size=5), max_size=10),
    every=st.integers(1, 7),
)
def test_snapshot_plus_tail_always_equals_full_replay(batches: list[list[int]], every: int) -> None:
    """Property: repository load (snapshot + tail) == full replay, snapshots land on crossings."""
    db, tally_id = Database(), uuid4()
    stream = StreamId(TALLY, tally_id)
    version, last_crossing = 0, 0
    for batch in batches:
        store = db.transaction()
        tallies = tally_repository(store, snapshot_every=every)
        tally = run(tallies.load(tally_id)) or Tally()
        assert tally.version == version
        for amount in batch:
            tally.add(amount, str(amount))
        run(tallies.save(tally_id, tally))
        store.commit()
        if snapshot_due(version, version + len(batch), every):
            last_crossing = version + len(batch)
        version += len(batch)

    store = db.transaction()
    snapshot = run(store.latest_snapshot(stream))
    assert (snapshot.version if snapshot else 0) == last_crossing
    loaded = run(tally_repository(store, snapshot_every=every).load(tally_id))
    if version == 0:
        assert loaded is None
        return
    assert loaded is not None
    assert loaded.same_state(replay_all(run(store.load(stream))))
    assert loaded.total == sum(map(sum, batches))


@given(stored=st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.integers(0, 99)), min_size=1))
def test_every_stored_version_loads_as_the_newest(stored: list[tuple[int, int]]) -> None:
    """Property: upcasting v1 -> v2 -> v3 keeps the amount and yields only v3 events."""
    payloads = {
        1: lambda n: {"n": n},
        2: lambda n: {"amount": n, "label": ""},
        3: lambda n: {"amount": n, "label": "", "unit": "each"},
    }
    types = {1: ADDED_V1, 2: ADDED_V2, 3: ADDED_V3}
    db, stream = Database(), StreamId(TALLY, uuid4())
    db.append(stream, 0, [NewEvent(event_type=types[v], payload=payloads[v](n)) for v, n in stored])
    loaded = run(db.transaction().load(stream))
    assert {e.event_type for e in loaded} == {ADDED_V3}
    assert [e.payload for e in loaded] == [payloads[3](n) for _, n in stored]
