"""RabbitMQ transport (aio-pika through FastStream), with publisher confirms.

Commands: direct exchange ``commerce.commands`` → one durable queue per command channel.
Events: one durable topic exchange per stream, routing key = aggregate id.
Dead letters and skipped messages: durable queues reached through the default exchange.
"""

from __future__ import annotations

from typing import Any

from aio_pika import IncomingMessage
from faststream import AckPolicy, StreamMessage
from faststream.rabbit import (
    ExchangeType,
    RabbitBroker,
    RabbitExchange,
    RabbitQueue,
    RabbitRouter,
)
from faststream.rabbit.schemas import Channel

from commerce.adapters.broker import (
    AnyRouter,
    Middleware,
    OutgoingMessage,
    RawMessage,
    SubscriberDecorator,
    namespaced,
    text_headers,
)
from commerce.messages.channels import COMMAND_EXCHANGE, CommandChannel, EventStream
from commerce.messages.envelope import HeaderStyle

__all__ = ["RabbitTransport"]


class RabbitTransport:
    """:class:`commerce.adapters.broker.Transport` on RabbitMQ."""

    style = HeaderStyle.RABBIT

    def __init__(
        self,
        url: str,
        *,
        prefetch: int,
        middlewares: tuple[Middleware, ...] = (),
        graceful_timeout: float = 15.0,
        app_id: str = "commerce",
        namespace: str = "",
    ) -> None:
        self._namespace = namespace
        self._commands = RabbitExchange(
            namespaced(namespace, COMMAND_EXCHANGE), type=ExchangeType.DIRECT, durable=True
        )
        self.broker = RabbitBroker(
            url,
            default_channel=Channel(prefetch_count=prefetch, publisher_confirms=True),
            middlewares=middlewares,
            graceful_timeout=graceful_timeout,
            app_id=app_id,
            logger=None,
        )
        self._declared: set[str] = set()

    def _command_queue(self, channel: CommandChannel) -> RabbitQueue:
        name = namespaced(self._namespace, channel.name)
        return RabbitQueue(name, durable=True, routing_key=name)

    def _stream_exchange(self, stream: EventStream | str) -> RabbitExchange:
        name = stream if isinstance(stream, str) else stream.name
        return RabbitExchange(
            namespaced(self._namespace, name), type=ExchangeType.TOPIC, durable=True
        )

    def router(self, *, middlewares: tuple[Middleware, ...] = ()) -> RabbitRouter:
        """A RabbitMQ router."""
        return RabbitRouter(middlewares=middlewares)

    def command_subscriber(self, router: AnyRouter, channel: CommandChannel) -> SubscriberDecorator:
        """Consume the channel's queue; ack after the handler, nack (requeue) on error."""
        assert isinstance(router, RabbitRouter)
        return router.subscriber(
            self._command_queue(channel),
            self._commands,
            ack_policy=AckPolicy.NACK_ON_ERROR,
            title=channel.name,
            description=channel.description,
        )

    async def _declare_queue(self, queue: RabbitQueue) -> None:
        if queue.name not in self._declared:
            await self.broker.declare_queue(queue)
            self._declared.add(queue.name)

    async def _declare_exchange(self, exchange: RabbitExchange) -> None:
        if exchange.name not in self._declared:
            await self.broker.declare_exchange(exchange)
            self._declared.add(exchange.name)

    async def _send(
        self, message: OutgoingMessage, *, exchange: RabbitExchange | None, routing_key: str
    ) -> None:
        await self.broker.publish(
            message.body,
            exchange=exchange,
            routing_key=routing_key,
            headers=dict(message.headers),
            content_type=message.content_type,
            message_id=message.message_id,
            persist=True,
        )

    async def send_command(self, channel: CommandChannel, message: OutgoingMessage) -> None:
        """Declare the command topology, then publish with a broker confirm."""
        await self._declare_exchange(self._commands)
        queue = self._command_queue(channel)
        if queue.name not in self._declared:
            declared = await self.broker.declare_queue(queue)
            await declared.bind(self._commands.name, routing_key=queue.routing())
            self._declared.add(queue.name)
        await self._send(message, exchange=self._commands, routing_key=queue.routing())

    async def send_event(self, stream: EventStream | str, message: OutgoingMessage) -> None:
        """Publish to the stream's topic exchange, routed by aggregate id."""
        exchange = self._stream_exchange(stream)
        await self._declare_exchange(exchange)
        await self._send(message, exchange=exchange, routing_key=message.key)

    async def send_to_channel(self, channel: str, message: OutgoingMessage) -> None:
        """Publish to a durable queue through the default exchange."""
        queue = RabbitQueue(namespaced(self._namespace, channel), durable=True)
        await self._declare_queue(queue)
        await self._send(message, exchange=None, routing_key=queue.name)

    async def send_for_retry(
        self, channel: CommandChannel, round_number: int, message: OutgoingMessage, delay: float
    ) -> None:
        """Publish to the round's delay queue; its TTL dead-letters it back to the work queue.

        Per-message ``expiration`` carries the jittered delay; a queue per round keeps
        delays alike, so a message at the head never holds back one that is due long before.
        """
        work_queue = self._command_queue(channel)
        queue = RabbitQueue(
            namespaced(self._namespace, channel.retry_channels[round_number - 1]),
            durable=True,
            arguments={
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": work_queue.name,
            },
        )
        await self._declare_queue(queue)
        await self.broker.publish(
            message.body,
            routing_key=queue.name,
            headers=dict(message.headers),
            content_type=message.content_type,
            expiration=max(1, round(delay * 1000)) / 1000,
            persist=True,
        )

    def defer(self, message: StreamMessage[Any], *, until: float) -> None:
        """Nothing to do: the delay queue's TTL already held the message back."""

    def raw(self, message: Any) -> RawMessage:
        """Read an ``aio_pika.IncomingMessage``."""
        assert isinstance(message, IncomingMessage)
        return RawMessage(
            channel=message.routing_key or "",
            key=message.routing_key,
            body=message.body,
            headers=text_headers(message.headers or {}),
            content_type=message.content_type,
        )

    async def ping(self, within: float) -> bool:
        """Whether the connection to RabbitMQ is open."""
        return await self.broker.ping(within)

    def channel_subscriber(
        self, router: AnyRouter, channel: str, group: str
    ) -> SubscriberDecorator:
        """Consume the plain durable queue ``channel`` (dead letters, skipped messages).

        The queue is its own consumer group (``group`` is for Kafka). Handlers get the raw
        body bytes, never decoded; an error nacks the message for redelivery.
        """
        assert isinstance(router, RabbitRouter)

        def raw_body(message: StreamMessage[Any]) -> bytes:
            return bytes(message.body)

        return router.subscriber(
            RabbitQueue(namespaced(self._namespace, channel), durable=True),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            decoder=raw_body,
            title=channel,
            description=f"Consumes the plain channel {channel}.",
        )
