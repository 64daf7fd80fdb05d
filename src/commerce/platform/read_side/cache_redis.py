"""L2 of the read side's cache: answers in Redis under versioned keys.

Each tag has a generation counter in Redis. An entry is stored under ``<key>@<generation
of each tag>``, read in one Lua call (read the generations, build the key, ``GET`` it).
Invalidation ``INCR``s the generations, so an entry loaded from a database snapshot taken
*before* the change can only ever be written under the old key, which nobody reads again:
no window where a slow reader puts a stale value back. The generation keys outlive every
entry (twice the L2 TTL + 60 s), so one that expires and restarts at zero cannot meet an
entry written under an old zero. Invalidated tags are also published on
``<prefix>:invalidations`` for the other workers' L1 caches.

Calls here raise whatever Redis raises; :class:`~commerce.platform.read_side.cache.ReadThroughCache`
decides what a failure means (it degrades to the database).
"""

from __future__ import annotations

import json
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

__all__ = ["VersionedEntries", "create_redis"]

_GET = """
local gens = redis.call('MGET', unpack(KEYS))
local parts = {}
for i = 1, #KEYS do parts[i] = gens[i] or '0' end
local full = ARGV[1] .. '@' .. table.concat(parts, '.')
return {full, redis.call('GET', full)}
"""


def create_redis(url: str, *, timeout: float) -> Redis:
    """A Redis client failing fast: ``timeout`` per call, no retries (the cache degrades)."""
    client: Redis = Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )
    return client


class VersionedEntries:
    """Cache entries in ``redis`` under ``prefix``, addressed through their tags' generations."""

    def __init__(self, redis: Redis, *, prefix: str, ttl: float) -> None:
        self._redis = redis
        self._prefix = prefix
        self.channel = f"{prefix}:invalidations"
        """Where invalidated tags are published (a JSON list per message)."""
        self._ttl_ms = max(1, round(ttl * 1000))
        self._generation_ttl_ms = 2 * self._ttl_ms + 60_000
        self._get = redis.register_script(_GET)

    async def get(self, key: str, tags: list[str]) -> tuple[str, bytes | None]:
        """``(the versioned key of key under tags' generations now, its value or None)``."""
        generations = [f"{self._prefix}:gen:{tag}" for tag in tags]
        full, *value = await self._get(keys=generations, args=[f"{self._prefix}:entry:{key}"])
        found: Any = (value or [None])[0]
        return (full.decode() if isinstance(full, bytes) else str(full)), (
            None if found is None else bytes(found)
        )

    async def set(self, versioned_key: str, value: bytes) -> None:
        """Store ``value`` under a key :meth:`get` returned, for the L2 TTL."""
        await self._redis.set(versioned_key, value, px=self._ttl_ms)

    async def bump(self, tags: list[str]) -> None:
        """Move every tag to its next generation and publish the tags, in one round trip."""
        async with self._redis.pipeline(transaction=False) as pipe:
            for tag in tags:
                generation = f"{self._prefix}:gen:{tag}"
                pipe.incr(generation)
                pipe.pexpire(generation, self._generation_ttl_ms)
            pipe.publish(self.channel, json.dumps(tags))
            await pipe.execute()

    async def ping(self) -> None:
        """Raise unless Redis answers."""
        await self._redis.ping()

    def pubsub(self) -> PubSub:
        """A subscription connection (``async with`` it)."""
        return self._redis.pubsub()

    async def close(self) -> None:
        """Close the connections."""
        await self._redis.aclose()
