"""Publishing many events to RabbitMQ at once, each confirmed by the broker.

The outbox relay's hot path: aio-pika directly on the broker's publisher-confirm channel
(FastStream's per-message publish path - middlewares, command objects, exchange lookup -
cost more than the frames themselves; see docs/performance.md). All messages are written
before any confirm is awaited, so a batch costs about one confirm round trip.

Each event carries the partition of its aggregate (:data:`PARTITION_HEADER`), which the
ordered consumers' headers exchanges route by: the publisher decides the partition, so it
never changes with the broker's state (docs/adr/0012).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractExchange
from faststream.rabbit import RabbitBroker, RabbitExchange

from commerce.platform.messaging.transport import OutgoingMessage

__all__ = ["PARTITION_HEADER", "RabbitEventPublisher", "partition_of", "with_partition"]

PARTITION_HEADER = "commerce-partition"
"""The header naming an event's partition (``"0"`` .. ``partitions - 1``)."""


def partition_of(key: str, partitions: int) -> int:
    """The partition of aggregate ``key``: the same in every process, release and restart."""
    return zlib.crc32(key.encode()) % partitions


def with_partition(headers: Mapping[str, Any], key: str, partitions: int) -> dict[str, Any]:
    """``headers`` plus the partition of aggregate ``key``."""
    return {**headers, PARTITION_HEADER: str(partition_of(key, partitions))}


class RabbitEventPublisher:
    """Publishes to the stream exchanges (topic, durable), routed by aggregate id."""

    def __init__(
        self,
        broker: RabbitBroker,
        exchange_of: Callable[[str], RabbitExchange],
        *,
        app_id: str,
        partitions: int,
    ) -> None:
        self._broker = broker
        self._exchange_of = exchange_of
        self._app_id = app_id
        self._partitions = partitions
        self._exchanges: dict[str, AbstractExchange] = {}

    async def _declared(self, stream: str) -> AbstractExchange:
        exchange = self._exchanges.get(stream)
        if exchange is None:  # robust: it outlives reconnections of the channel
            exchange = await self._broker.declare_exchange(self._exchange_of(stream))
            self._exchanges[stream] = exchange
        return exchange

    async def publish(self, events: Sequence[tuple[str, OutgoingMessage]]) -> None:
        """Publish every ``(stream, message)``; return once the broker confirmed them all.

        Raises the first failure (a nack, a closed channel) after every publish settled.
        """
        exchanges = {stream: await self._declared(stream) for stream in {s for s, _ in events}}
        results = await asyncio.gather(
            *(
                exchanges[stream].publish(self._message(message), message.key, mandatory=False)
                for stream, message in events
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                self._exchanges.clear()  # declared anew on a channel that works
                raise result

    def _message(self, message: OutgoingMessage) -> Message:
        return Message(
            message.body,
            headers=with_partition(message.headers, message.key, self._partitions),
            content_type=message.content_type,
            message_id=message.message_id,
            delivery_mode=DeliveryMode.PERSISTENT,
            app_id=self._app_id,
        )
