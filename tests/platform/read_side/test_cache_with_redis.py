"""The two-level read cache against a real Redis: shared L2, pub/sub invalidation of every
worker's L1, no stale value after an invalidation, and answers from the database (with
a log line and a metric) while Redis is unreachable, recovering by itself."""

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from uuid import uuid4

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis.asyncio import Redis
from structlog.testing import capture_logs

from commerce.platform.observability import metrics
from commerce.platform.read_side.cache import ReadThroughCache, create_redis
from commerce.platform.read_side.cache_local import LocalCache
from commerce.platform.resilience.breaker import CircuitBreaker
from tests.support.proxy import TcpProxy
from tests.support.services import host_port

pytestmark = pytest.mark.integration


def _cache(
    redis: Redis, prefix: str, *, name: str = "it", l1_ttl: float = 60, reset: float = 0.2
) -> ReadThroughCache:
    """A cache whose Redis breaker opens at the first outage and probes ``reset`` s later."""
    return ReadThroughCache(
        name=name,
        local=LocalCache(max_entries=1000, ttl=l1_ttl),
        redis=redis,
        prefix=prefix,
        l2_ttl=60,
        timeout=0.25,
        breaker=CircuitBreaker("redis", failure_threshold=1, reset_timeout=reset),
    )


class Database:
    """The 'read model' behind the cache: one value per key, and a count of reads."""

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}
        self.reads = 0

    def loader(self, key: str) -> Callable[[], Awaitable[bytes]]:
        async def load() -> bytes:
            self.reads += 1
            return self.rows.get(key, "-").encode()

        return load


def _gauge(name: str, cache: str) -> float:
    text = metrics.exposition()[0].decode()
    prefix = f'{name}{{cache="{cache}"}} '
    return next(
        float(line.removeprefix(prefix)) for line in text.splitlines() if line.startswith(prefix)
    )


async def _eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def redis(redis_url: str) -> AsyncIterator[Redis]:
    client = create_redis(redis_url, timeout=1.0)
    yield client
    await client.aclose()


@pytest.fixture
def prefix() -> str:
    return f"tests:{uuid4().hex}"


async def test_workers_share_l2_and_an_invalidation_reaches_every_l1(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    db = Database()
    db.rows["user:1"] = "Ada"
    first, second = _cache(redis, prefix), _cache(create_redis(redis_url, timeout=1), prefix)
    stop = asyncio.Event()
    listeners = [asyncio.create_task(c.listen(stop)) for c in (first, second)]
    try:
        await asyncio.sleep(0.2)  # both subscribed
        assert await first.get_or_load("user:1", ["u1"], db.loader("user:1")) == b"Ada"
        assert await second.get_or_load("user:1", ["u1"], db.loader("user:1")) == b"Ada"
        assert db.reads == 1, "the second worker found the first's entry in Redis"
        assert "user:1" in second.local

        db.rows["user:1"] = "Ada King"  # the projection commits ...
        await first.invalidate(["u1"])  # ... then invalidates
        await _eventually(lambda: _absent(second, "user:1"))
        assert await second.get_or_load("user:1", ["u1"], db.loader("user:1")) == b"Ada King"
        assert await first.get_or_load("user:1", ["u1"], db.loader("user:1")) == b"Ada King"
        assert db.reads == 2
    finally:
        stop.set()
        await asyncio.gather(*listeners)
        await second.close()


async def _absent(cache: ReadThroughCache, key: str) -> bool:
    return key not in cache.local


async def test_a_load_racing_an_invalidation_never_leaves_a_stale_entry(
    redis: Redis, prefix: str
) -> None:
    db = Database()
    db.rows["k"] = "old"
    cache = _cache(redis, prefix)
    reading = asyncio.Event()
    release = asyncio.Event()

    async def slow_old_read() -> bytes:
        value = db.rows["k"].encode()  # the database snapshot is taken now ...
        reading.set()
        await release.wait()  # ... and the answer arrives after the change
        return value

    racing = asyncio.create_task(cache.get_or_load("k", ["t"], slow_old_read))
    await reading.wait()
    db.rows["k"] = "new"
    await cache.invalidate(["t"])
    release.set()
    assert await racing == b"old", "the racing reader gets its own snapshot"
    assert await cache.get_or_load("k", ["t"], db.loader("k")) == b"new"
    cache.local.clear()
    assert await cache.get_or_load("k", ["t"], db.loader("k")) == b"new", "L2 is not stale"


async def test_redis_unreachable_answers_from_the_database_and_says_so_once(prefix: str) -> None:
    db = Database()
    db.rows["k"] = "v"
    cache = _cache(
        create_redis("redis://127.0.0.1:1/0", timeout=0.25), prefix, name="down", reset=60
    )
    with capture_logs() as logs:
        for _ in range(5):
            assert await cache.get_or_load("k", ["t"], db.loader("k")) == b"v"
            cache.local.clear()
        await cache.invalidate(["t"])  # kept for later, never raised
    assert cache.degraded
    assert db.reads == 5
    assert [e["event"] for e in logs if e["log_level"] == "warning"] == [
        "circuit breaker opened: calls refused",
        "cache degraded: Redis unreachable, answering from the database",
    ]
    assert _gauge("commerce_cache_degraded", "down") == 1
    await cache.close()


async def test_a_cut_connection_degrades_then_recovers_and_replays_invalidations(
    redis: Redis, redis_url: str, prefix: str
) -> None:
    host, port = host_port(redis_url, 6379)
    proxy = TcpProxy(host, port)
    await proxy.start()
    db = Database()
    db.rows["k"] = "v1"
    behind_proxy = _cache(
        create_redis(f"redis://127.0.0.1:{proxy.port}/0", timeout=0.25), prefix, name="cut"
    )
    direct = _cache(redis, prefix, name="direct")
    assert await behind_proxy.get_or_load("k", ["t"], db.loader("k")) == b"v1"
    assert await direct.get_or_load("k", ["t"], db.loader("k")) == b"v1"
    assert db.reads == 1

    await proxy.cut()
    db.rows["k"] = "v2"
    with capture_logs() as logs:
        await behind_proxy.invalidate(["t"])  # Redis is unreachable: kept pending
        behind_proxy.local.clear()
        assert await behind_proxy.get_or_load("k", ["t"], db.loader("k")) == b"v2"
    assert behind_proxy.degraded
    assert any(e["event"].startswith("cache degraded") for e in logs)
    assert _gauge("commerce_cache_degraded", "cut") == 1
    direct.local.clear()
    assert await direct.get_or_load("k", ["t"], db.loader("k")) == b"v1", "not yet replayed"

    await proxy.start()
    await asyncio.sleep(0.25)  # past the breaker's reset timeout: the next call probes
    behind_proxy.local.clear()
    with capture_logs() as logs:
        assert await behind_proxy.get_or_load("k", ["t"], db.loader("k")) == b"v2"
    assert not behind_proxy.degraded
    assert (
        next(e for e in logs if e["event"].startswith("cache recovered"))["replayed_invalidations"]
        == 1
    )
    assert _gauge("commerce_cache_degraded", "cut") == 0
    direct.local.clear()
    assert await direct.get_or_load("k", ["t"], db.loader("k")) == b"v2", "replayed on recovery"
    await behind_proxy.close()
    await proxy.cut()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.dictionaries(
        st.text("abcdef", min_size=1, max_size=2),
        st.frozensets(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=2),
        min_size=1,
        max_size=12,
    ),
    st.frozensets(st.sampled_from(["a", "b", "c", "d"]), min_size=1, max_size=2),
)
async def test_invalidation_completeness_across_both_levels(
    redis: Redis, entries: dict[str, frozenset[str]], invalidated: frozenset[str]
) -> None:
    """Property (invalidation completeness, L1 + L2): after invalidate(T) every key carrying
    a tag of T is loaded again (from L1 or from Redis alike), and no other key is."""
    prefix = f"tests:{uuid4().hex}"
    db = Database()
    cache = _cache(redis, prefix)
    for key, tags in entries.items():
        db.rows[key] = "before"
        await cache.get_or_load(key, sorted(tags), db.loader(key))
    for key, tags in entries.items():
        if tags & invalidated:
            db.rows[key] = "after"
    await cache.invalidate(invalidated)
    for l1_cleared in (False, True):
        if l1_cleared:
            cache.local.clear()
        for key, tags in entries.items():
            expected = "after" if tags & invalidated else "before"
            assert await cache.get_or_load(key, sorted(tags), db.loader(key)) == expected.encode()
