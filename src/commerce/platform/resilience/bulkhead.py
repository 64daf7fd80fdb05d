"""Bulkheads: bounded concurrency shared by every consumer of a group.

A consumer group (the command channels, the read-model projections, the policies, a
downstream capability) handles at most ``limit`` messages at once, whatever number of
subscribers, partitions and prefetched deliveries feed it. The others wait, in arrival
order, without polling, until one of the group's messages is done; a slow group fills its
own bulkhead and no other. See ``docs/adr/0021-bulkheads-per-consumer-group.md``.
"""

from __future__ import annotations

import asyncio
from types import TracebackType

from commerce.platform.observability.metrics_resilience import set_bulkhead_in_flight

__all__ = ["Bulkhead"]


class Bulkhead:
    """At most ``limit`` messages of group ``group`` in flight; the others wait their turn.

    Use it as ``async with bulkhead: ...`` around a message's handling, from any number of
    tasks. Waiting is FIFO and costs nothing while it lasts. A task cancelled while it
    waits takes no slot (and hands on a slot it was just given); one cancelled inside the
    block gives its slot back on the way out. ``commerce_bulkhead_in_flight{group}`` shows
    how many are inside.
    """

    def __init__(self, group: str, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"a bulkhead's limit must be at least 1, not {limit}")
        self._group = group
        self._limit = limit
        self._slots = asyncio.Semaphore(limit)
        self._in_flight = 0
        set_bulkhead_in_flight(group, 0)

    @property
    def group(self) -> str:
        """The consumer group the bulkhead bounds."""
        return self._group

    @property
    def limit(self) -> int:
        """The most messages in flight at once."""
        return self._limit

    @property
    def in_flight(self) -> int:
        """Messages inside the bulkhead now."""
        return self._in_flight

    async def __aenter__(self) -> None:
        await self._slots.acquire()  # FIFO; cancellation-safe since Python 3.11.1
        self._in_flight += 1
        set_bulkhead_in_flight(self._group, self._in_flight)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._in_flight -= 1
        set_bulkhead_in_flight(self._group, self._in_flight)
        self._slots.release()

    def __repr__(self) -> str:
        return f"Bulkhead({self._group!r}, {self._in_flight}/{self._limit} in flight)"
