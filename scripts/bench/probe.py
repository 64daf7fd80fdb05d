"""A downstream consumer of the user event stream that notes when each event arrived.

RabbitMQ: an exclusive queue bound to the stream's topic exchange with ``#``, consumed
without acks. Kafka: every partition of the stream's topic assigned (no group), read
from the beginning. Each event is recorded with its ``causationid`` (the command's id)
and the arrival time on this machine's clock.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Protocol

import aio_pika
from aiokafka import AIOKafkaConsumer, TopicPartition

from commerce.identity.messages.channels import USERS
from commerce.platform.messaging.transport import namespaced

__all__ = ["EventProbe", "KafkaEventProbe", "RabbitEventProbe", "start_probe"]


class EventProbe(Protocol):
    """Arrival times of events by the id of the command that caused them."""

    arrivals: dict[str, float]

    async def close(self) -> None:
        """Stop consuming."""
        ...


class RabbitEventProbe:
    """Bound to the stream before the first command, so no event is missed."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self._connection: aio_pika.abc.AbstractConnection | None = None

    async def start(self, url: str, namespace: str) -> RabbitEventProbe:
        """Declare the queue, bind it and start consuming."""
        self._connection = await aio_pika.connect(url)
        channel = await self._connection.channel()
        await channel.set_qos(prefetch_count=256)
        exchange = await channel.declare_exchange(
            namespaced(namespace, USERS.name), aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")
        await queue.consume(self._on_message, no_ack=True)
        return self

    async def _on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        arrived = time.time()
        cause = (message.headers or {}).get("ce-causationid")
        if cause is not None:
            self.arrivals[cause.decode() if isinstance(cause, bytes) else str(cause)] = arrived

    async def close(self) -> None:
        """Close the connection (the queue goes with it)."""
        if self._connection is not None:
            await self._connection.close()


class KafkaEventProbe:
    """Reads every partition of the stream topic from the start."""

    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, bootstrap: str, namespace: str) -> KafkaEventProbe:
        """Assign the topic's partitions and start reading in the background."""
        topic = namespaced(namespace, USERS.name)
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5
        )
        await self._consumer.start()
        await self._consumer.topics()  # refreshes the metadata of every topic
        partitions = self._consumer.partitions_for_topic(topic) or {0}
        assigned = [TopicPartition(topic, partition) for partition in sorted(partitions)]
        self._consumer.assign(assigned)
        await self._consumer.seek_to_beginning(*assigned)
        self._task = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._consumer is not None
        while True:
            batches = await self._consumer.getmany(timeout_ms=50)
            arrived = time.time()
            for records in batches.values():
                for record in records:
                    headers = dict(record.headers)
                    cause = headers.get("ce_causationid")
                    if cause is not None:
                        self.arrivals[cause.decode()] = arrived

    async def close(self) -> None:
        """Stop reading and disconnect."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()


async def start_probe(transport: str, address: str, namespace: str) -> EventProbe:
    """A started probe on ``transport`` (``address``: AMQP URL or Kafka bootstrap)."""
    if transport == "rabbit":
        return await RabbitEventProbe().start(address, namespace)
    return await KafkaEventProbe().start(address, namespace)
