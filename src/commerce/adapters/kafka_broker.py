"""A FastStream ``KafkaBroker`` that starts every subscriber at once, retrying if asked."""

from __future__ import annotations

import asyncio
from typing import Any

from faststream.kafka import KafkaBroker

from commerce.adapters.broker_start import StartRetries

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
