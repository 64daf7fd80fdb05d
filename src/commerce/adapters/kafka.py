"""Kafka transport (aiokafka through FastStream), ``acks=all`` and idempotent producer.

Every command channel, event stream, dead-letter and skipped channel is a topic of the
same name, keyed by aggregate id so order holds per aggregate within a partition.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition
from faststream import AckPolicy, StreamMessage
from faststream.exceptions import NackMessage
from faststream.kafka import KafkaBroker, KafkaRouter

from commerce.adapters.broker import (
    AnyRouter,
    Middleware,
    OutgoingMessage,
    RawMessage,
    SubscriberDecorator,
    namespaced,
    text_headers,
)
from commerce.messages.channels import CommandChannel, EventStream
from commerce.messages.envelope import HeaderStyle

__all__ = ["KafkaTransport"]


def _resume(consumer: Any, partition: TopicPartition) -> None:
    """Resume a paused partition unless a rebalance took it away meanwhile."""
    if partition in consumer.assignment():
        consumer.resume(partition)


class KafkaTransport:
    """:class:`commerce.adapters.broker.Transport` on Kafka."""

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
        namespace: str = "",
    ) -> None:
        self._namespace = namespace
        self._group_timeouts = {
            "session_timeout_ms": session_timeout_ms,
            "heartbeat_interval_ms": heartbeat_interval_ms,
        }
        self.broker = KafkaBroker(
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

    def command_subscriber(self, router: AnyRouter, channel: CommandChannel) -> SubscriberDecorator:
        """Consume the channel's topic in the consumer's group; commit after the handler."""
        assert isinstance(router, KafkaRouter)
        topics = (channel.name, *channel.retry_channels)
        return router.subscriber(
            *(namespaced(self._namespace, topic) for topic in topics),
            group_id=namespaced(self._namespace, channel.consumer),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            session_timeout_ms=self._group_timeouts["session_timeout_ms"],
            heartbeat_interval_ms=self._group_timeouts["heartbeat_interval_ms"],
            title=channel.name,
            description=channel.description,
        )

    async def _send(self, topic: str, message: OutgoingMessage) -> None:
        headers = dict(message.headers)
        if message.content_type:
            headers.setdefault("content-type", message.content_type)
        await self.broker.publish(
            message.body,
            namespaced(self._namespace, topic),
            key=message.key.encode(),
            headers=headers,
            correlation_id=message.message_id,
        )

    async def send_command(self, channel: CommandChannel, message: OutgoingMessage) -> None:
        """Produce to the channel's topic, keyed by aggregate id."""
        await self._send(channel.name, message)

    async def send_event(self, stream: EventStream | str, message: OutgoingMessage) -> None:
        """Produce to the stream's topic, keyed by aggregate id."""
        await self._send(stream if isinstance(stream, str) else stream.name, message)

    async def send_to_channel(self, channel: str, message: OutgoingMessage) -> None:
        """Produce to a plain topic."""
        await self._send(channel, message)

    async def send_for_retry(
        self, channel: CommandChannel, round_number: int, message: OutgoingMessage, delay: float
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
        assert isinstance(router, KafkaRouter)

        def raw_body(message: StreamMessage[Any]) -> bytes:
            return bytes(message.body)

        return router.subscriber(
            namespaced(self._namespace, channel),
            group_id=namespaced(self._namespace, group),
            ack_policy=AckPolicy.NACK_ON_ERROR,
            auto_offset_reset="earliest",
            session_timeout_ms=self._group_timeouts["session_timeout_ms"],
            heartbeat_interval_ms=self._group_timeouts["heartbeat_interval_ms"],
            decoder=raw_body,
            title=channel,
            description=f"Consumes the plain channel {channel}.",
        )
