"""Properties of the read side's L1 cache (LRU with a time-to-live and tags) and of the
read-through path in front of it (no Redis: the L1 alone)."""

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from commerce.platform.read_side.cache import ReadThroughCache
from commerce.platform.read_side.cache_local import EvictionReason, LocalCache
from commerce.platform.resilience.breaker import CircuitBreaker
from tests.support.fakes import ManualClock

pytestmark = pytest.mark.property

KEYS = st.text("abcdefgh", min_size=1, max_size=3)
VALUES = st.binary(max_size=64)
TAGS = st.frozensets(st.sampled_from(["t1", "t2", "t3", "t4", "t5"]), max_size=3)


@given(st.dictionaries(KEYS, st.tuples(VALUES, TAGS), max_size=20))
def test_cache_round_trip(entries: dict[str, tuple[bytes, frozenset[str]]]) -> None:
    """Property (cache round trip): within capacity and TTL, get(k) returns exactly what
    put(k, v) stored, for every key, whatever the tags."""
    cache = LocalCache(max_entries=len(entries) or 1, ttl=60, clock=ManualClock(1000.0))
    for key, (value, tags) in entries.items():
        cache.put(key, value, tags)
    for key, (value, _) in entries.items():
        assert cache.get(key) == value
    assert cache.stats.hits == len(entries)
    assert cache.stats.evictions[EvictionReason.CAPACITY] == 0


@given(KEYS, VALUES, st.floats(0.001, 3600), st.floats(0, 1, exclude_max=True))
def test_ttl_expiry(key: str, value: bytes, ttl: float, fraction: float) -> None:
    """Property (TTL expiry): an entry is returned at every instant before put + ttl and
    never at or after it; expiring counts as an eviction (reason expired)."""
    clock = ManualClock(1000.0)
    cache = LocalCache(max_entries=4, ttl=ttl, clock=clock)
    cache.put(key, value)
    started = clock.now
    clock.now = started + ttl * fraction
    if clock.now < started + ttl:
        assert cache.get(key) == value
    clock.now = started + ttl
    assert cache.get(key) is None
    assert key not in cache
    assert cache.stats.evictions[EvictionReason.EXPIRED] == 1


@given(st.dictionaries(KEYS, st.tuples(VALUES, TAGS), max_size=30), TAGS)
def test_invalidation_completeness(
    entries: dict[str, tuple[bytes, frozenset[str]]], invalidated: frozenset[str]
) -> None:
    """Property (invalidation completeness): after invalidate_tags(T) no entry carrying a
    tag of T can be read, and every other entry still can."""
    cache = LocalCache(max_entries=100, ttl=60, clock=ManualClock(1000.0))
    for key, (value, tags) in entries.items():
        cache.put(key, value, tags)
    dropped = cache.invalidate_tags(invalidated)
    hit = {key for key, (_, tags) in entries.items() if tags & invalidated}
    assert dropped == len(hit)
    for key, (value, _) in entries.items():
        assert cache.get(key) == (None if key in hit else value)


class LruModel(RuleBasedStateMachine):
    """Property (LRU eviction): the cache behaves like an ordered dict trimmed from its
    least recently used end; it never holds more than ``max_entries``."""

    def __init__(self) -> None:
        super().__init__()
        self.capacity = 4
        self.cache = LocalCache(max_entries=self.capacity, ttl=60, clock=ManualClock(1000.0))
        self.model: OrderedDict[str, bytes] = OrderedDict()
        self.evicted = 0

    @rule(key=KEYS, value=VALUES)
    def put(self, key: str, value: bytes) -> None:
        self.cache.put(key, value)
        self.model.pop(key, None)
        self.model[key] = value
        while len(self.model) > self.capacity:
            self.model.popitem(last=False)
            self.evicted += 1

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        expected = self.model.get(key)
        if expected is not None:
            self.model.move_to_end(key)
        assert self.cache.get(key) == expected

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def invalidate(self, data: st.DataObject) -> None:
        key = data.draw(st.sampled_from(sorted(self.model)))
        assert self.cache.invalidate(key)
        del self.model[key]

    @invariant()
    def same_contents_and_bounded(self) -> None:
        assert len(self.cache) == len(self.model) <= self.capacity
        assert all(key in self.cache for key in self.model)
        assert self.cache.stats.evictions[EvictionReason.CAPACITY] == self.evicted


TestLruEviction = LruModel.TestCase
TestLruEviction.settings = settings(max_examples=60, stateful_step_count=40)


@given(st.lists(st.tuples(KEYS, TAGS), min_size=1, max_size=15), TAGS)
def test_read_through_loads_once_and_reloads_after_invalidation(
    lookups: list[tuple[str, frozenset[str]]], invalidated: frozenset[str]
) -> None:
    """Property (read-through): the loader runs once per key until a tag of the key is
    invalidated, then once more; the caller always gets the loader's latest answer."""

    async def scenario() -> None:
        cache = ReadThroughCache(
            name="property",
            local=LocalCache(max_entries=100, ttl=60, clock=ManualClock(1000.0)),
            redis=None,
            prefix="property",
            l2_ttl=60,
            timeout=0.1,
            breaker=CircuitBreaker("redis", failure_threshold=1, reset_timeout=1),
        )
        loads: dict[str, int] = {}
        tags_of = dict(lookups)

        def loader(key: str) -> Callable[[], Awaitable[bytes]]:
            async def load() -> bytes:
                loads[key] = loads.get(key, 0) + 1
                return f"{key}#{loads[key]}".encode()

            return load

        for key, _ in lookups:
            assert await cache.get_or_load(key, sorted(tags_of[key]), loader(key)) == b"%s#1" % (
                key.encode()
            )
        assert all(count == 1 for count in loads.values())
        await cache.invalidate(invalidated)
        for key, tags in tags_of.items():
            expected = 2 if tags & invalidated else 1
            value = await cache.get_or_load(key, sorted(tags), loader(key))
            assert value == f"{key}#{expected}".encode()

    asyncio.run(scenario())
