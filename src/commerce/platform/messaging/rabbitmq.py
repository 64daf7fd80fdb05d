"""RabbitMQ transport (aio-pika through FastStream), with publisher confirms.

Commands: direct exchange ``commerce.commands`` → one durable queue per command channel.
Events: one durable topic exchange per stream, routing key = aggregate id, declared when
the worker starts (:meth:`RabbitTransport.declare_streams`) so consumers can bind at once.
Dead letters and skipped messages: durable queues reached through the default exchange.
Ordered event consumers: a headers exchange per consumer, bound to the stream, routes each
event by the partition its publisher computed from the aggregate id (header
``commerce-partition``) to one of ``partitions`` queues, each with a single active consumer
handling one message at a time (``docs/adr/0012-ordered-consumption.md``).
"""

from __future__ import annotations

from collections.abc import Sequence
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
from faststream.rabbit.schemas.queue import ClassicQueueArgs

from commerce.platform.messaging.channels import (
    COMMAND_EXCHANGE,
    CommandChannel,
    Consumer,
    EventConsumer,
    EventStream,
)
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.rabbitmq_publisher import (
    PARTITION_HEADER,
    RabbitEventPublisher,
    with_partition,
)
from commerce.platform.messaging.startup import StartRetries
from commerce.platform.messaging.transport import (
    AnyRouter,
    Middleware,
    OutgoingMessage,
    RawMessage,
    SubscriberDecorator,
    namespaced,
    text_headers,
)

__all__ = ["RabbitTransport"]


class _RabbitBroker(RabbitBroker):
    """A ``RabbitBroker`` whose start retries until it runs when asked (:class:`StartRetries`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.start_retries = StartRetries()

    async def start(self) -> None:
        """Start once, or until it runs."""
        await self.start_retries.run(super().start, self.stop, what="rabbitmq broker")


class RabbitTransport:
    """:class:`commerce.platform.messaging.transport.Transport` on RabbitMQ."""

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
        partitions: int = 4,
    ) -> None:
        self._namespace = namespace
        self._partitions = partitions
        self._commands = RabbitExchange(
            namespaced(namespace, COMMAND_EXCHANGE), type=ExchangeType.DIRECT, durable=True
        )
        self.broker = _RabbitBroker(
            url,
            default_channel=Channel(prefetch_count=prefetch, publisher_confirms=True),
            middlewares=middlewares,
            graceful_timeout=graceful_timeout,
            app_id=app_id,
            logger=None,
        )
        self._declared: set[str] = set()
        self._exchanges: dict[str, RabbitExchange] = {}
        self._events = RabbitEventPublisher(
            self.broker, self._stream_exchange, app_id=app_id, partitions=partitions
        )

    def _command_queue(self, channel: CommandChannel) -> RabbitQueue:
        name = namespaced(self._namespace, channel.name)
        return RabbitQueue(name, durable=True, routing_key=name)

    def _stream_exchange(self, stream: EventStream | str) -> RabbitExchange:
        name = stream if isinstance(stream, str) else stream.name
        if (exchange := self._exchanges.get(name)) is None:  # one per stream, not per event
            exchange = RabbitExchange(
                namespaced(self._namespace, name), type=ExchangeType.TOPIC, durable=True
            )
            self._exchanges[name] = exchange
        return exchange

    def _partition_exchange(self, consumer: EventConsumer) -> RabbitExchange:
        """The consumer's own exchange: routes each event to its partition's queue by the
        partition header its publisher set (a broker-side hash ring would be rebuilt in
        another order when the broker restarts, moving aggregates between partitions)."""
        return RabbitExchange(
            namespaced(self._namespace, f"{consumer.consumer}.partitions"),
            type=ExchangeType.HEADERS,
            durable=True,
            bind_to=self._stream_exchange(consumer.stream),
            routing_key="#",
        )

    def _partition_queue(self, consumer: EventConsumer, partition: int) -> RabbitQueue:
        return RabbitQueue(
            namespaced(self._namespace, f"{consumer.consumer}.p{partition}"),
            durable=True,
            bind_arguments={"x-match": "all", PARTITION_HEADER: str(partition)},
            arguments={"x-single-active-consumer": True},
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

    def event_subscriber(self, router: AnyRouter, consumer: EventConsumer) -> SubscriberDecorator:
        """Consume every partition queue of ``consumer``, one message at a time each."""
        assert isinstance(router, RabbitRouter)
        exchange = self._partition_exchange(consumer)
        subscribers = [
            router.subscriber(
                self._partition_queue(consumer, partition),
                exchange,
                ack_policy=AckPolicy.NACK_ON_ERROR,
                channel=Channel(prefetch_count=1),
                title=f"{consumer.consumer}.p{partition}",
                description=consumer.description,
            )
            for partition in range(self._partitions)
        ]

        def subscribe(handler: Any, **options: Any) -> Any:
            for subscriber in subscribers:
                subscriber(handler, **options)
            return handler

        return subscribe

    async def redeliver(self, consumer: EventConsumer, message: OutgoingMessage) -> None:
        """Send ``message`` to ``consumer`` alone, into its aggregate's partition."""
        exchange = self._partition_exchange(consumer)
        await self._declare_exchange(exchange)
        await self._send(message, exchange=exchange, routing_key=message.key, partitioned=True)

    async def _declare_queue(self, queue: RabbitQueue) -> None:
        if queue.name not in self._declared:
            await self.broker.declare_queue(queue)
            self._declared.add(queue.name)

    async def _declare_exchange(self, exchange: RabbitExchange) -> None:
        if exchange.name not in self._declared:
            await self.broker.declare_exchange(exchange)
            self._declared.add(exchange.name)

    def _headers(self, message: OutgoingMessage, *, partitioned: bool) -> dict[str, Any]:
        if partitioned:
            return with_partition(message.headers, message.key, self._partitions)
        return dict(message.headers)

    async def _send(
        self,
        message: OutgoingMessage,
        *,
        exchange: RabbitExchange | None,
        routing_key: str,
        partitioned: bool = False,
    ) -> None:
        await self.broker.publish(
            message.body,
            exchange=exchange,
            routing_key=routing_key,
            headers=self._headers(message, partitioned=partitioned),
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

    async def declare_streams(self, streams: Sequence[EventStream]) -> None:
        """Declare each stream's durable topic exchange, exactly as publishing does.

        Redeclaring an exchange with the same type and flags is a no-op on the broker, so
        this never conflicts with the publishers, the ordered consumers or another worker.
        """
        for stream in streams:
            exchange = self._stream_exchange(stream)
            await self.broker.declare_exchange(exchange)
            self._declared.add(exchange.name)

    async def publish_events(self, events: Sequence[tuple[str, OutgoingMessage]]) -> None:
        """Publish to the streams' topic exchanges, routed by aggregate id, all confirmed."""
        await self._events.publish(events)

    async def send_to_channel(self, channel: str, message: OutgoingMessage) -> None:
        """Publish to a durable queue through the default exchange."""
        queue = RabbitQueue(namespaced(self._namespace, channel), durable=True)
        await self._declare_queue(queue)
        await self._send(message, exchange=None, routing_key=queue.name)

    async def send_for_retry(
        self, channel: Consumer, round_number: int, message: OutgoingMessage, delay: float
    ) -> None:
        """Publish to the round's delay queue; its TTL dead-letters it back to the consumer.

        Per-message ``expiration`` carries the jittered delay; a queue per round keeps
        delays alike, so a message at the head never holds back one that is due long before.
        Commands return to the work queue; an ordered consumer's events return through its
        partition exchange to their aggregate's partition (the delay queue is reached through a
        fanout exchange of its own so that the routing key stays the aggregate id).
        """
        name = namespaced(self._namespace, channel.retry_channels[round_number - 1])
        if isinstance(channel, EventConsumer):
            back: ClassicQueueArgs = {
                "x-dead-letter-exchange": self._partition_exchange(channel).name
            }
            entry = RabbitExchange(name, type=ExchangeType.FANOUT, durable=True)
            routing_key = message.key
        else:
            back = {
                "x-dead-letter-exchange": "",
                "x-dead-letter-routing-key": self._command_queue(channel).name,
            }
            entry, routing_key = None, name
        queue = RabbitQueue(name, durable=True, arguments=back)
        if name not in self._declared:
            declared = await self.broker.declare_queue(queue)
            if entry is not None:
                await self.broker.declare_exchange(entry)
                await declared.bind(entry.name, routing_key="")
            if isinstance(channel, EventConsumer):
                await self._declare_exchange(self._partition_exchange(channel))
            self._declared.add(name)
        await self.broker.publish(
            message.body,
            exchange=entry,
            routing_key=routing_key,
            headers=self._headers(message, partitioned=isinstance(channel, EventConsumer)),
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

    def keep_starting(self) -> None:
        """Make the broker's start retry until every subscriber runs."""
        self.broker.start_retries.enabled = True

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
