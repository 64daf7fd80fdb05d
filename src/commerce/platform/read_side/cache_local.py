"""The L1 read cache: an in-process LRU with a time-to-live and a tag index.

Values are immutable ``bytes`` (serialised replies), so a cached value can never be changed
by whoever read it. Every entry carries *tags*, the names of the read-model rows it was
built from; :meth:`LocalCache.invalidate_tags` drops every entry holding one of them. The
clock is injected (monotonic seconds), so tests move time by hand.

Not thread-safe: one instance belongs to one event loop, like everything else of a worker.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

__all__ = ["CacheStats", "EvictionReason", "LocalCache"]


class EvictionReason(StrEnum):
    """Why an entry left the cache other than by invalidation."""

    CAPACITY = "capacity"
    """The least recently used entry made room for a new one."""
    EXPIRED = "expired"
    """The entry outlived its time-to-live."""


@dataclass(slots=True)
class CacheStats:
    """Counters of one cache instance since it was created."""

    hits: int = 0
    misses: int = 0
    evictions: dict[EvictionReason, int] = field(
        default_factory=lambda: dict.fromkeys(EvictionReason, 0)
    )
    invalidated: int = 0


@dataclass(frozen=True, slots=True)
class _Entry:
    value: bytes
    expires_at: float
    tags: frozenset[str]


class LocalCache:
    """An LRU of at most ``max_entries`` entries, each living ``ttl`` seconds at most.

    ``on_evict`` is told about every entry leaving by capacity or expiry (for metrics); it
    may be set after construction.
    """

    def __init__(
        self,
        *,
        max_entries: int,
        ttl: float,
        clock: Callable[[], float] = time.monotonic,
        on_evict: Callable[[EvictionReason], None] | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError(f"max_entries must be >= 1, got {max_entries}")
        if ttl <= 0:
            raise ValueError(f"ttl must be > 0, got {ttl}")
        self.max_entries = max_entries
        self.ttl = ttl
        self.stats = CacheStats()
        self._clock = clock
        self.on_evict = on_evict
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._by_tag: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        entry = self._entries.get(key) if isinstance(key, str) else None
        return entry is not None and entry.expires_at > self._clock()

    def get(self, key: str) -> bytes | None:
        """The live value of ``key`` (now the most recently used), or ``None``."""
        entry = self._entries.get(key)
        if entry is None:
            self.stats.misses += 1
            return None
        if entry.expires_at <= self._clock():
            self._remove(key)
            self._evicted(EvictionReason.EXPIRED)
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.value

    def put(self, key: str, value: bytes, tags: Iterable[str] = ()) -> None:
        """Store ``value`` under ``key`` for ``ttl`` seconds, evicting the LRU entry if full."""
        if key in self._entries:
            self._remove(key)
        entry = _Entry(value, self._clock() + self.ttl, frozenset(tags))
        self._entries[key] = entry
        for tag in entry.tags:
            self._by_tag.setdefault(tag, set()).add(key)
        while len(self._entries) > self.max_entries:
            oldest = next(iter(self._entries))
            self._remove(oldest)
            self._evicted(EvictionReason.CAPACITY)

    def invalidate(self, key: str) -> bool:
        """Drop ``key``; whether it was there."""
        if key not in self._entries:
            return False
        self._remove(key)
        self.stats.invalidated += 1
        return True

    def invalidate_tags(self, tags: Iterable[str]) -> int:
        """Drop every entry carrying one of ``tags``; how many were dropped."""
        keys = set().union(*(self._by_tag.get(tag, ()) for tag in tags))
        for key in keys:
            self._remove(key)
        self.stats.invalidated += len(keys)
        return len(keys)

    def clear(self) -> int:
        """Drop everything (e.g. after missing remote invalidations); how many were dropped."""
        dropped = len(self._entries)
        self._entries.clear()
        self._by_tag.clear()
        self.stats.invalidated += dropped
        return dropped

    def _remove(self, key: str) -> None:
        entry = self._entries.pop(key)
        for tag in entry.tags:
            keys = self._by_tag.get(tag)
            if keys is not None:
                keys.discard(key)
                if not keys:
                    del self._by_tag[tag]

    def _evicted(self, reason: EvictionReason) -> None:
        self.stats.evictions[reason] += 1
        if self.on_evict is not None:
            self.on_evict(reason)
