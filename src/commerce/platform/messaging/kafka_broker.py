"""A FastStream ``KafkaBroker`` that starts every subscriber at once (retrying if asked) and
drains every subscriber before stopping any."""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from faststream._internal.endpoint.subscriber.utils import MultiLock
from faststream.kafka import KafkaBroker

from commerce.platform.messaging.startup import StartRetries

__all__ = ["ConcurrentStartKafkaBroker"]


class ConcurrentStartKafkaBroker(KafkaBroker):
    """A ``KafkaBroker`` that starts its subscribers concurrently, retrying if asked.

    Each aiokafka consumer's ``start()`` waits for its group's first assignment (on Kafka up
    to ``group.initial.rebalance.delay.ms``, 3 s by default); FastStream starts subscribers
    one after another, so a worker with dozens of consumer groups (a group per command
    channel, per ordered consumer) would take minutes to start.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start_retries = StartRetries()

    async def start(self) -> None:
        """Start once, or until it runs (:class:`StartRetries`)."""
        await self.start_retries.run(self._start_once, self.stop, what="kafka broker")

    async def _start_once(self) -> None:
        """Connect, start every subscriber at once, then the publishers."""
        await self.connect()
        await asyncio.gather(*(subscriber.start() for subscriber in self.subscribers))
        for publisher in self.publishers:
            await publisher.start()
        self.running = True

    async def stop(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> None:
        """Let every subscriber finish the records it is handling, then stop.

        FastStream stops a concurrent subscriber's (``max_workers``) consumers before it
        waits for its handlers, so a record finishing meanwhile could no longer commit its
        offset and would be handled again after a restart. Draining first keeps a graceful
        stop free of redeliveries; the handlers' own commits then go through.
        """
        within = self.config.graceful_timeout
        await asyncio.gather(*(_drain(subscriber, within) for subscriber in self.subscribers))
        await super().stop(exc_type, exc_val, exc_tb)


async def _drain(subscriber: Any, within: float | None) -> None:
    """Stop ``subscriber`` taking records and wait for the ones it is handling."""
    subscriber.running = False
    lock = getattr(subscriber, "lock", None)
    if isinstance(lock, MultiLock):
        await lock.wait_release(within)
