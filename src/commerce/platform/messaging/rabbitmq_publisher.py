"""Publishing many events to RabbitMQ at once, each confirmed by the broker.

The outbox relay's hot path: aio-pika directly on the broker's publisher-confirm channel
(FastStream's per-message publish path - middlewares, command objects, exchange lookup -
cost more than the frames themselves; see docs/performance.md). A batch's frames are
marshalled and written in one piece before any confirm is awaited, so a batch costs one
socket write and about one confirm round trip, and no task per message (docs/adr/0026).

Each event carries the partition of its aggregate (:data:`PARTITION_HEADER`), which the
ordered consumers' headers exchanges route by: the publisher decides the partition, so it
never changes with the broker's state (docs/adr/0012).
"""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import aiormq
from aio_pika import DeliveryMode, Exchange
from aio_pika.abc import AbstractExchange
from aiormq.abc import ChannelFrame
from faststream.rabbit import RabbitBroker, RabbitExchange
from pamqp.commands import Basic
from pamqp.header import ContentHeader

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

        The frames of all messages are marshalled under the channel's lock and written in
        one piece, each with its own delivery tag and confirm future (awaited together,
        no task per message). Raises the first failure (a nack, a closed channel) after
        every confirm settled.
        """
        exchanges = {stream: await self._declared(stream) for stream in {s for s, _ in events}}
        underlay = {stream: await _underlay(exchange) for stream, exchange in exchanges.items()}
        by_channel: dict[aiormq.Channel, list[tuple[str, OutgoingMessage]]] = {}
        for stream, message in events:
            by_channel.setdefault(underlay[stream], []).append((exchanges[stream].name, message))
        confirms: list[asyncio.Future[Any]] = []
        for channel, messages in by_channel.items():
            confirms += await self._write(channel, messages)
        results = await asyncio.gather(*confirms, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                self._exchanges.clear()  # declared anew on a channel that works
                raise result

    async def _write(
        self, channel: aiormq.Channel, messages: list[tuple[str, OutgoingMessage]]
    ) -> list[asyncio.Future[Any]]:
        """Write ``messages`` (exchange name, message) to ``channel``; their confirm futures."""
        if channel.is_closed or not channel.publisher_confirms:
            raise aiormq.exceptions.ChannelInvalidStateError(f"{channel!r} cannot confirm")
        async with channel.lock:
            first = channel.delivery_tag + 1
            confirms: list[asyncio.Future[Any]] = []
            try:
                frames: list[Any] = []
                for exchange, message in messages:
                    frames += self._frames(channel, exchange, message)
                    channel.delivery_tag += 1
                    confirm = channel.create_future()
                    channel.confirmations[channel.delivery_tag] = confirm
                    confirms.append(confirm)
                await channel.write_queue.put(
                    ChannelFrame.marshall(channel_number=channel.number, frames=frames)
                )
            except BaseException:  # nothing was written: give the delivery tags back
                for tag in range(first, channel.delivery_tag + 1):
                    channel.confirmations.pop(tag, None)
                channel.delivery_tag = first - 1
                for confirm in confirms:
                    confirm.cancel()
                raise
        return confirms

    def _frames(
        self, channel: aiormq.Channel, exchange: str, message: OutgoingMessage
    ) -> list[Any]:
        properties = Basic.Properties(
            content_type=message.content_type,
            delivery_mode=DeliveryMode.PERSISTENT.value,
            message_id=message.message_id,
            app_id=self._app_id,
            headers=with_partition(message.headers, message.key, self._partitions),
        )
        return [
            Basic.Publish(exchange=exchange, routing_key=message.key),
            ContentHeader(properties=properties, body_size=len(message.body)),
            *channel._split_body(message.body),  # aiormq's own frame splitting
        ]


async def _underlay(exchange: AbstractExchange) -> aiormq.Channel:
    """The aiormq channel ``exchange`` publishes on now (it changes when a robust channel
    reconnects)."""
    assert isinstance(exchange, Exchange)
    channel = await exchange.channel.get_underlay_channel()
    assert isinstance(channel, aiormq.Channel)
    return channel
