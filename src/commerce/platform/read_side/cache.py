"""The read side's cache: L1 in process (:mod:`.cache_local`), L2 in Redis
(:mod:`.cache_redis`), read-through.

**Keys and tags.** A caller names an entry by ``key`` and lists its *tags*: the read-model
rows it was built from (``users:<tenant>:<user>``). Invalidating a tag makes every entry
carrying it unreachable, in every process.

**L2: versioned keys.** An entry is stored under its key and the current generation of
each of its tags; invalidation moves the tags to their next generation, so a slow reader
can never put a stale value back where anyone looks (:mod:`.cache_redis`).

**L1: pub/sub.** A projection's invalidation (after its transaction commits) bumps the
generations, then publishes the tags on ``<prefix>:invalidations``; every worker's
:meth:`ReadThroughCache.listen` drops its L1 entries with those tags. Loads in flight
when a tag is invalidated are not put into L1.

**Staleness bound.** Normally the Redis round trip plus pub/sub delivery (milliseconds).
While a worker cannot reach Redis (or its subscription is down) it misses other workers'
invalidations: its L1 entries may be stale for up to the L1 TTL, and it clears its L1 when
it reconnects. Invalidations it could not send are kept (bounded) and sent on recovery;
if they are lost (the process dies first), L2 entries stay stale for at most the L2 TTL.

**Degradation.** A Redis failure or a call slower than the timeout never fails a query: it
is answered by the loader (the database), the cache logs ``cache degraded`` once per
outage and sets ``commerce_cache_degraded``. Every Redis call goes through the ``redis``
circuit breaker (docs/adr/0018): once it opens, Redis is not called at all until its
half-open probe, which is the recovery itself (a ping, then the invalidations kept
meanwhile); the first that succeeds logs ``cache recovered``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from commerce.platform.observability.metrics import (
    record_cache_error,
    record_cache_eviction,
    record_cache_invalidation,
    record_cache_request,
    set_cache_degraded,
)
from commerce.platform.read_side.cache_local import LocalCache
from commerce.platform.read_side.cache_redis import VersionedEntries, create_redis
from commerce.platform.resilience.breaker import CircuitBreaker, CircuitOpenError

__all__ = ["ALL", "ReadThroughCache", "create_redis"]

ALL: Final = "*"
"""The tag every entry carries: invalidating it empties the whole cache (a rebuild swap)."""

_MAX_PENDING = 10_000
_FAILURES = (RedisError, OSError, TimeoutError)
_log = structlog.get_logger("commerce.cache")


class _Skipped(Exception):
    """Redis was not asked (its breaker is open) or failed: go to the loader."""


@dataclass(slots=True)
class _Load:
    tags: frozenset[str]
    future: asyncio.Future[bytes] = field(default_factory=asyncio.Future)
    dirty: bool = False


class ReadThroughCache:
    """L1 + L2 in front of a loader; see the module documentation for the guarantees."""

    def __init__(
        self,
        *,
        name: str,
        local: LocalCache,
        redis: Redis | None,
        prefix: str,
        l2_ttl: float,
        timeout: float,
        breaker: CircuitBreaker,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name = name
        self.local = local
        self.degraded = False
        self._l2 = VersionedEntries(redis, prefix=prefix, ttl=l2_ttl) if redis else None
        self._timeout = timeout
        self._breaker = breaker
        self._clock = clock
        self._down_since = 0.0
        self._pending: set[str] = set()
        self._loads: dict[str, _Load] = {}
        local_name = f"{name}.l1"
        self.local.on_evict = lambda reason: record_cache_eviction(local_name, reason.value)
        set_cache_degraded(name, False)

    async def get_or_load(
        self, key: str, tags: Sequence[str], loader: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        """The cached value of ``key``, else ``loader()``'s, cached under ``tags`` too.

        Concurrent misses of one key share one load. Redis trouble is never raised.
        """
        if (value := self.local.get(key)) is not None:
            record_cache_request(f"{self.name}.l1", "hit")
            return value
        record_cache_request(f"{self.name}.l1", "miss")
        if (running := self._loads.get(key)) is not None and not running.dirty:
            return await asyncio.shield(running.future)
        load = _Load(frozenset((ALL, *tags)))
        self._loads[key] = load
        try:
            value = await self._read_through(key, sorted(load.tags), loader)
        except BaseException as error:
            load.future.set_exception(error)
            load.future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        finally:
            if self._loads.get(key) is load:
                del self._loads[key]
        if not load.dirty:
            self.local.put(key, value, load.tags)
        load.future.set_result(value)
        return value

    async def _read_through(
        self, key: str, tags: list[str], loader: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        l2 = self._l2
        if l2 is None:
            return await loader()
        layer = f"{self.name}.l2"
        try:
            full, value = await self._call(lambda: l2.get(key, tags))
        except _Skipped:
            record_cache_request(layer, "degraded")
            return await loader()
        if value is not None:
            record_cache_request(layer, "hit")
            return value
        record_cache_request(layer, "miss")
        loaded = await loader()
        with contextlib.suppress(_Skipped):
            await self._call(lambda: l2.set(full, loaded))
        return loaded

    async def invalidate(self, tags: Iterable[str]) -> None:
        """Make every entry carrying one of ``tags`` unreachable, here and in every worker.

        Call it after the transaction that changed the rows committed.
        """
        wanted = sorted(set(tags))
        if not wanted:
            return
        try:
            await self._call(lambda: self._bump_l2(wanted))
        except _Skipped:
            self._keep_pending(wanted)
        self._drop_local(wanted, origin="local")

    async def listen(self, stop: asyncio.Event) -> None:
        """Drop L1 entries other workers invalidate, until ``stop`` is set.

        Subscribes through the Redis breaker and, after a failure, tries again a reset
        timeout later; on every (re)subscription the L1 is cleared, since invalidations
        published meanwhile were missed.
        """
        l2 = self._l2
        if l2 is None:
            return
        while not stop.is_set():
            try:
                async with l2.pubsub() as subscription:
                    await self._redis(lambda: subscription.subscribe(l2.channel))
                    self.local.clear()
                    while not stop.is_set():
                        message = await subscription.get_message(
                            ignore_subscribe_messages=True, timeout=0.5
                        )
                        if message is not None:
                            self._drop_local(json.loads(message["data"]), origin="remote")
            except _Skipped:
                pass
            except _FAILURES as error:
                self._failed(error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._breaker.reset_timeout)

    async def close(self) -> None:
        """Close the Redis connections."""
        if self._l2 is not None:
            await self._l2.close()

    async def _bump_l2(self, tags: list[str]) -> None:
        assert self._l2 is not None
        await self._l2.bump(tags)

    async def _call[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run a Redis ``operation`` (after recovering if degraded), or raise
        :class:`_Skipped`."""
        if self._l2 is None:
            raise _Skipped
        if self.degraded:
            await self._recover()
        return await self._redis(operation)

    async def _redis[T](self, operation: Callable[[], Awaitable[T]]) -> T:
        """Run ``operation`` through the breaker within the timeout, or raise
        :class:`_Skipped` (refused by the open breaker: Redis is not called)."""
        try:
            with self._breaker.guard():
                async with asyncio.timeout(self._timeout):
                    return await operation()
        except CircuitOpenError as refused:
            raise _Skipped from refused
        except _FAILURES as error:
            self._failed(error)
            raise _Skipped from error

    async def _recover(self) -> None:
        """Probe Redis (when the breaker lets a call through) and send the invalidations
        kept meanwhile *before* anything is read again; raise :class:`_Skipped` if it is
        still down."""
        l2 = self._l2
        assert l2 is not None
        pending = sorted(self._pending)

        async def probe() -> None:
            await l2.ping()
            if pending:
                await l2.bump(pending)

        await self._redis(probe)
        self._pending.clear()
        self.degraded = False
        set_cache_degraded(self.name, False)
        self.local.clear()
        _log.info(
            "cache recovered: Redis answers again",
            cache=self.name,
            outage_seconds=round(self._clock() - self._down_since, 3),
            replayed_invalidations=len(pending),
        )

    def _failed(self, error: BaseException) -> None:
        record_cache_error(self.name)
        if not self.degraded:
            self.degraded = True
            self._down_since = self._clock()
            set_cache_degraded(self.name, True)
            _log.warning(
                "cache degraded: Redis unreachable, answering from the database",
                cache=self.name,
                error=f"{type(error).__name__}: {error}",
            )

    def _keep_pending(self, tags: list[str]) -> None:
        self._pending.update(tags)
        if len(self._pending) > _MAX_PENDING:
            self._pending = {ALL}

    def _drop_local(self, tags: Sequence[str], *, origin: Literal["local", "remote"]) -> None:
        wanted = set(tags)
        for key, load in list(self._loads.items()):
            if load.tags & wanted:
                load.dirty = True
                del self._loads[key]
        self.local.invalidate_tags(wanted)
        record_cache_invalidation(self.name, origin, len(tags))
