"""Kafka transport (aiokafka through FastStream), ``acks=all`` and idempotent producer.

Every command channel, event stream, dead-letter and skipped channel is a topic of the
same name, keyed by aggregate id so order holds per aggregate within a partition.
Event stream topics are created with ``partitions`` partitions, every one when the worker
starts (:meth:`KafkaTransport.declare_streams`); an ordered event consumer runs one group
member per partition in each worker, each handling its partitions one record at a time
(``docs/adr/0012-ordered-consumption.md``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from aiokafka.admin import NewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code
from faststream import AckPolicy, StreamMessage
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaRouter, Topic

from commerce.platform.messaging.channels import (
    CommandChannel,
    Consumer,
    EventConsumer,
    EventStream,
)
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.kafka_broker import ConcurrentStartKafkaBroker
from commerce.platform.messaging.transport import (
    AnyRouter,
    Middleware,
    OutgoingMessage,
    RawMessage,
    SubscriberDecorator,
    namespaced,
    text_headers,
)

__all__ = ["KafkaTransport"]


def _resume(consumer: Any, partition: TopicPartition) -> None:
    """Resume a paused partition unless a rebalance took it away meanwhile."""
    if partition in consumer.assignment():
        consumer.resume(partition)


class KafkaTransport:
    """:class:`commerce.platform.messaging.transport.Transport` on Kafka."""

    style = HeaderStyle.KAFKA

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        middlewares: tuple[Middleware, ...] = (),
        graceful_timeout: float = 15.0,
        client_id: str = "commerce",
        idempotence: bool = True,
        session_timeout_ms: int = 10_000,
        heartbeat_interval_ms: int = 3_000,
        fetch_max_wait_ms: int = 500,
        namespace: str = "",
        partitions: int = 4,
        command_members: int = 4,
    ) -> None:
        self._namespace = namespace
        self._partitions = partitions
        self._command_members = command_members
        self._created: set[str] = set()
        self._consumer_options = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
            "fetch_max_wait_ms": fetch_max_wait_ms,
        }
        self.broker = ConcurrentStartKafkaBroker(
            bootstrap_servers,
            acks="all",
            enable_idempotence=idempotence,
            middlewares=middlewares,
            graceful_timeout=graceful_timeout,
            client_id=client_id,
            logger=None,
        )

    def router(self, *, middlewares: tuple[Middleware, ...] = ()) -> KafkaRouter:
        """A Kafka router."""
        return KafkaRouter(middlewares=middlewares)

    def _subscriber(
        self,
        router: AnyRouter,
        topics: tuple[str, ...],
        *,
        group: str,
        title: str,
        description: str,
        workers: int = 1,
        decoder: Any = None,
    ) -> SubscriberDecorator:
        """Consume ``topics`` in consumer group ``group``, committing after the handler.

        Topics missing are created with the configured partitions.
        """
        assert isinstance(router, KafkaRouter)
        return router.subscriber(
            *(
                Topic(namespaced(self._namespace, topic), num_partitions=self._partitions)
                for topic in topics
            ),
            group_id=namespaced(self._namespace, group),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            session_timeout_ms=self._consumer_options["session_timeout_ms"],
            heartbeat_interval_ms=self._consumer_options["heartbeat_interval_ms"],
            fetch_max_wait_ms=self._consumer_options["fetch_max_wait_ms"],
            max_workers=workers,
            decoder=decoder,
            title=title,
            description=description,
        )

    def command_subscriber(self, router: AnyRouter, channel: CommandChannel) -> SubscriberDecorator:
        """Consume the channel's topic with ``command_members`` group members, plus retries.

        A member handles one record at a time (committing after it), so members are what
        lets commands run concurrently on Kafka (up to the topic's partitions), and
        concurrent commands share transactions (group commit, docs/adr/0016). A second
        subscriber in the group reads the retry topics.
        """
        return self._with_retries(
            router,
            channel,
            self._subscriber(
                router,
                (channel.name,),
                group=channel.consumer,
                title=channel.name,
                description=channel.description,
                workers=self._command_members,
            ),
            description=f"Delayed redeliveries of {channel.name}.",
        )

    def _with_retries(
        self,
        router: AnyRouter,
        channel: Consumer,
        main: SubscriberDecorator,
        *,
        description: str,
    ) -> SubscriberDecorator:
        """``main`` plus a subscriber of ``channel``'s retry topics, in the same group."""
        retries = self._subscriber(
            router,
            channel.retry_channels,
            group=channel.consumer,
            title=f"{channel.consumer}.retries",
            description=description,
        )

        def subscribe(handler: Any, **options: Any) -> Any:
            main(handler, **options)
            retries(handler, **options)
            return handler

        return subscribe

    def event_subscriber(self, router: AnyRouter, consumer: EventConsumer) -> SubscriberDecorator:
        """Consume the stream with one group member per partition, plus the retry topics.

        Each member handles its partitions one record at a time, so events of one aggregate
        (one key, one partition) run in order while other partitions run concurrently.
        """
        stream = self._subscriber(
            router,
            (consumer.stream.name,),
            group=consumer.consumer,
            title=consumer.consumer,
            description=consumer.description,
            workers=self._partitions,
        )
        return self._with_retries(
            router,
            consumer,
            stream,
            description=f"Delayed and released events of {consumer.consumer}.",
        )

    async def redeliver(self, consumer: EventConsumer, message: OutgoingMessage) -> None:
        """Send ``message`` to ``consumer`` alone: its first retry topic, due at once."""
        await self._send(consumer.retry_channels[0], message)

    def _stream_topic(self, name: str) -> NewTopic:
        """A stream's topic as it is created: the configured partitions."""
        return NewTopic(name, num_partitions=self._partitions, replication_factor=1)

    async def _ensure_stream_topic(self, name: str) -> None:
        """Create a stream's topic with the configured partitions before its first event."""
        if name in self._created:
            return
        # an existing topic is answered with an error code, not an exception
        await self.broker.config.admin_client.create_topics([self._stream_topic(name)])
        self._created.add(name)

    async def declare_streams(self, streams: Sequence[EventStream]) -> None:
        """Create each stream's topic with the configured partitions unless it exists.

        An existing topic is left as it is; any other refusal raises :class:`RuntimeError`.
        """
        names = [namespaced(self._namespace, stream.name) for stream in streams]
        response = await self.broker.config.admin_client.create_topics(
            [self._stream_topic(name) for name in names]
        )
        refused = [
            f"{topic} ({for_code(code).__name__}: {rest[0] if rest else code})"
            for topic, code, *rest in response.topic_errors
            if code and not issubclass(for_code(code), TopicAlreadyExistsError)
        ]
        if refused:
            msg = f"Kafka refused to create the stream topics {', '.join(refused)}"
            raise RuntimeError(msg)
        self._created.update(names)

    async def _send(self, topic: str, message: OutgoingMessage, *, confirm: bool = True) -> Any:
        """Produce ``message``; with ``confirm=False`` return the delivery future at once."""
        headers = dict(message.headers)
        if message.content_type:
            headers.setdefault("content-type", message.content_type)
        return await self.broker.publish(
            message.body,
            namespaced(self._namespace, topic),
            key=message.key.encode(),
            headers=headers,
            correlation_id=message.message_id,
            no_confirm=not confirm,
        )

    async def send_command(self, channel: CommandChannel, message: OutgoingMessage) -> None:
        """Produce to the channel's topic, keyed by aggregate id."""
        await self._send(channel.name, message)

    async def publish_events(self, events: Sequence[tuple[str, OutgoingMessage]]) -> None:
        """Produce to the streams' topics, keyed by aggregate id; wait for every ack."""
        for name in {stream for stream, _ in events}:
            await self._ensure_stream_topic(namespaced(self._namespace, name))
        deliveries = [await self._send(name, message, confirm=False) for name, message in events]
        for result in await asyncio.gather(*deliveries, return_exceptions=True):
            if isinstance(result, BaseException):
                raise result

    async def send_to_channel(self, channel: str, message: OutgoingMessage) -> None:
        """Produce to a plain topic."""
        await self._send(channel, message)

    async def send_for_retry(
        self, channel: Consumer, round_number: int, message: OutgoingMessage, delay: float
    ) -> None:
        """Produce to the round's retry topic; its not-before header holds it back."""
        await self._send(channel.retry_channels[round_number - 1], message)

    def defer(self, message: StreamMessage[Any], *, until: float) -> None:
        """Pause the record's partition until ``until``, rewinding to the record.

        The consumer keeps polling (and heartbeating) its other partitions; nothing sleeps.
        """
        delay = until - time.time()
        if delay <= 0:
            return
        record = message.raw_message
        consumer = getattr(message, "consumer", None)
        if consumer is None or not isinstance(record, ConsumerRecord):
            return
        partition = TopicPartition(record.topic, record.partition)
        consumer.pause(partition)
        asyncio.get_running_loop().call_later(delay, _resume, consumer, partition)
        raise NackMessage

    def raw(self, message: Any) -> RawMessage:
        """Read an ``aiokafka.ConsumerRecord``."""
        assert isinstance(message, ConsumerRecord)
        key = message.key
        return RawMessage(
            channel=message.topic,
            key=key.decode(errors="replace") if isinstance(key, bytes) else key,
            body=message.value or b"",
            headers=text_headers(dict(message.headers or ())),
            content_type=dict(message.headers or ()).get("content-type", b"").decode() or None,
        )

    def keep_starting(self) -> None:
        """Make the broker's start retry until every subscriber runs."""
        self.broker.start_retries.enabled = True

    async def ping(self, within: float) -> bool:
        """Whether the Kafka cluster answers."""
        return await self.broker.ping(within)

    def channel_subscriber(
        self, router: AnyRouter, channel: str, group: str
    ) -> SubscriberDecorator:
        """Consume the plain topic ``channel`` in consumer group ``group``.

        Handlers get the raw body bytes, never decoded; an error nacks (seeks back to) the
        record for redelivery.
        """

        def raw_body(message: StreamMessage[Any]) -> bytes:
            return bytes(message.body)

        return self._subscriber(
            router,
            (channel,),
            group=group,
            title=channel,
            description=f"Consumes the plain channel {channel}.",
            decoder=raw_body,
        )
