"""Raw broker access for tests: publish exactly the bytes we want, read what arrived.

Deliberately below FastStream: tests send undecodable bodies and hand-made headers, and
read dead-letter queues, event streams and their headers as the broker holds them.
"""

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, Self
from uuid import uuid4

import aio_pika
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from commerce.config import Settings
from commerce.platform.messaging.channels import COMMAND_EXCHANGE
from commerce.platform.messaging.transport import namespaced
from tests.support.tansu import FAST_GROUP_TIMEOUTS

__all__ = ["BrokerProbe", "KafkaProbe", "RabbitProbe", "Received", "probe_for"]


@dataclass(frozen=True)
class Received:
    """A message as the broker delivered it."""

    body: bytes
    headers: dict[str, str]
    content_type: str | None
    key: str | None


type Predicate = Callable[[Received], bool]


class BrokerProbe(Protocol):
    """Publish raw messages and collect them, on one transport."""

    async def send_command(
        self, channel: str, body: bytes, headers: Mapping[str, str], key: str
    ) -> None: ...

    async def watch(self, channel: str, *, stream: bool = False) -> None:
        """Start collecting ``channel`` (a queue/topic; ``stream``: an event stream)."""
        ...

    async def collect(
        self, channel: str, predicate: Predicate, count: int, timeout: float = 20.0
    ) -> list[Received]: ...

    async def close(self) -> None: ...


def _text(headers: Mapping[str, object]) -> dict[str, str]:
    return {
        k: v.decode() if isinstance(v, bytes | bytearray) else str(v) for k, v in headers.items()
    }


class RabbitProbe:
    """RabbitMQ: streams are watched through an exclusive queue bound with ``#``."""

    def __init__(self, connection: aio_pika.abc.AbstractRobustConnection, namespace: str) -> None:
        self._connection = connection
        self._namespace = namespace
        self._queues: dict[str, aio_pika.abc.AbstractQueue] = {}

    @classmethod
    async def connect(cls, url: str, namespace: str) -> Self:
        return cls(await aio_pika.connect_robust(url), namespace)

    async def send_command(
        self, channel: str, body: bytes, headers: Mapping[str, str], key: str
    ) -> None:
        channel = namespaced(self._namespace, channel)
        ch = await self._connection.channel()
        exchange = await ch.declare_exchange(
            namespaced(self._namespace, COMMAND_EXCHANGE), "direct", durable=True
        )
        queue = await ch.declare_queue(channel, durable=True)
        await queue.bind(exchange, routing_key=channel)
        content_type = headers.get("content-type", "application/json")
        amqp_headers = {k: v for k, v in headers.items() if k != "content-type"}
        await exchange.publish(
            aio_pika.Message(
                body, headers=amqp_headers, content_type=content_type, message_id=str(uuid4())
            ),
            routing_key=channel,
        )
        await ch.close()

    async def watch(self, channel: str, *, stream: bool = False) -> None:
        ch = await self._connection.channel()
        name = namespaced(self._namespace, channel)
        if stream:
            exchange = await ch.declare_exchange(name, "topic", durable=True)
            queue = await ch.declare_queue("", exclusive=True)
            await queue.bind(exchange, "#")
        else:
            queue = await ch.declare_queue(name, durable=True)
        self._queues[channel] = queue

    async def collect(
        self, channel: str, predicate: Predicate, count: int, timeout: float = 20.0
    ) -> list[Received]:
        queue = self._queues[channel]
        found: list[Received] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            await message.ack()
            received = Received(
                message.body,
                _text(message.headers or {}),
                message.content_type,
                message.routing_key,
            )
            if predicate(received):
                found.append(received)
        return found

    async def close(self) -> None:
        await self._connection.close()


class KafkaProbe:
    """Kafka: each watched topic gets a consumer of its own group, from the start."""

    def __init__(self, bootstrap: str, producer: AIOKafkaProducer, namespace: str) -> None:
        self._bootstrap = bootstrap
        self._namespace = namespace
        self._producer = producer
        self._consumers: dict[str, AIOKafkaConsumer] = {}

    @classmethod
    async def connect(cls, bootstrap: str, namespace: str) -> Self:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
        await producer.start()
        return cls(bootstrap, producer, namespace)

    async def send_command(
        self, channel: str, body: bytes, headers: Mapping[str, str], key: str
    ) -> None:
        await self._producer.send_and_wait(
            namespaced(self._namespace, channel),
            body,
            key=key.encode(),
            headers=[(k, v.encode()) for k, v in headers.items()],
        )

    async def watch(self, channel: str, *, stream: bool = False) -> None:
        consumer = AIOKafkaConsumer(
            namespaced(self._namespace, channel),
            bootstrap_servers=self._bootstrap,
            group_id=f"probe-{uuid4().hex}",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **FAST_GROUP_TIMEOUTS,
        )
        await consumer.start()
        self._consumers[channel] = consumer

    async def collect(
        self, channel: str, predicate: Predicate, count: int, timeout: float = 20.0
    ) -> list[Received]:
        consumer = self._consumers[channel]
        found: list[Received] = []
        deadline = time.monotonic() + timeout
        while len(found) < count and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for records in batches.values():
                for record in records:
                    headers = _text(dict(record.headers or ()))
                    received = Received(
                        record.value or b"",
                        headers,
                        headers.get("content-type"),
                        record.key.decode() if record.key else None,
                    )
                    if predicate(received):
                        found.append(received)
        return found

    async def close(self) -> None:
        for consumer in self._consumers.values():
            await consumer.stop()
        await self._producer.stop()


async def probe_for(settings: Settings) -> BrokerProbe:
    """A probe on the broker and namespace of ``settings``."""
    url = settings.broker.url.get_secret_value()
    namespace = settings.broker.namespace
    if url.startswith("kafka://"):
        return await KafkaProbe.connect(url.removeprefix("kafka://"), namespace)
    return await RabbitProbe.connect(url, namespace)
