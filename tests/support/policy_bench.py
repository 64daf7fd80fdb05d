"""A bench for the failure-policy contract: test consumers under their failure policy on a
real broker or on FastStream's in-memory test broker, read the same way.

Transports:

* ``rabbit`` and ``kafka``: the real brokers; what lands on a DLQ or ``skipped`` channel
  is read with a :class:`~tests.support.brokers.BrokerProbe`;
* ``rabbit-memory`` and ``kafka-memory``: ``TestRabbitBroker`` / ``TestKafkaBroker``
  (FastStream 0.7: ``async with TestRabbitBroker(broker)`` patches the broker so that
  ``publish`` runs the matching subscribers in-process, at once). Collectors subscribe to
  the DLQ and ``skipped`` channels. What only a real broker does is played by the bench:
  a RabbitMQ delay queue's TTL dead-lettering back to the work queue (a collector on the
  retry queue sends the message back), and the Kafka consumer's pause until a retry
  record's not-before time (the in-memory consumer cannot pause: the record is due at once).
"""

import asyncio
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from faststream import Context, StreamMessage
from faststream.kafka import TestKafkaBroker
from faststream.rabbit import ExchangeType, RabbitExchange, TestRabbitBroker
from pydantic import SecretStr

from commerce.bootstrap.service import Service, build_service
from commerce.config import BrokerSettings, KillSwitchSettings, Settings
from commerce.platform.messaging.channels import CommandChannel, EventConsumer
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.transport import OutgoingMessage, namespaced
from tests.support.brokers import BrokerProbe, Received, probe_for
from tests.support.namespaces import fresh_namespace

__all__ = ["IN_MEMORY", "PolicyBench", "bench_settings", "policy_bench", "until"]

IN_MEMORY = ("rabbit-memory", "kafka-memory")
"""The transports played by FastStream's in-memory test brokers."""

_PLACEHOLDER_URLS = {
    "rabbit-memory": "amqp://guest:guest@in-memory:5672/",
    "kafka-memory": "kafka://in-memory:9092",
}


def bench_settings(transport: str, broker_url: str | None) -> Settings:
    """Settings of a bench: a fresh namespace; the in-memory brokers never connect.

    A bench has no database, so the kill switch (which would find it down and pause the
    consumers) is off: the failure policy alone is under test here; the kill switch has
    its own tests (tests/platform/resilience).
    """
    url = _PLACEHOLDER_URLS.get(transport) or broker_url
    assert url, f"{transport} needs a broker URL"
    return Settings(
        environment="test",
        broker=BrokerSettings(
            url=SecretStr(url),
            namespace=fresh_namespace(),
            kafka_idempotence=False,
            kafka_session_timeout_ms=2_000,
            kafka_heartbeat_interval_ms=200,
        ),
        kill_switch=KillSwitchSettings(enabled=False),
    )


async def until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait until ``condition`` holds (a real broker delivers asynchronously)."""
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.02)


class _Collector:
    """Keeps what arrives on one channel, as the broker delivered it."""

    def __init__(self, received: list[Received]) -> None:
        self._received = received
        self.__name__ = "collect"

    async def __call__(
        self, body: bytes, message: Annotated[StreamMessage[Any], Context("message")]
    ) -> None:
        self._received.append(Received(body, dict(message.headers), message.content_type, None))


class _DelayQueue:
    """What a RabbitMQ delay queue does when a message's TTL expires: back to the work queue."""

    def __init__(self, service: Service, channel: CommandChannel) -> None:
        self._service = service
        self._channel = channel
        self.__name__ = "expire"

    async def __call__(
        self, body: bytes, message: Annotated[StreamMessage[Any], Context("message")]
    ) -> None:
        raw = self._service.transport.raw(message.raw_message)
        copy = OutgoingMessage(body, raw.key or "", raw.headers, raw.content_type)
        await self._service.transport.send_command(self._channel, copy)


@dataclass
class PolicyBench:
    """Consumers wired by the service on one transport, and what they set aside."""

    transport: str
    service: Service
    probe: BrokerProbe | None
    collected: dict[str, list[Received]] = field(default_factory=lambda: defaultdict(list))

    @property
    def style(self) -> HeaderStyle:
        """The CloudEvents binding of the transport."""
        return self.service.transport.style

    async def send_command(self, channel: CommandChannel, message: OutgoingMessage) -> None:
        """Send a command as a producer would (in memory: handled before this returns)."""
        await self.service.transport.send_command(channel, message)

    async def send_event(self, consumer: EventConsumer, message: OutgoingMessage) -> None:
        """Publish an event on ``consumer``'s stream, as an upstream producer would."""
        if self.style is HeaderStyle.KAFKA:  # the stream's topic
            await self.service.transport.send_to_channel(consumer.stream.name, message)
            return
        if self.probe is None:  # in memory: straight to the stream's topic exchange
            name = namespaced(self.service.settings.broker.namespace, consumer.stream.name)
            await self.service.transport.broker.publish(  # type: ignore[call-arg]
                message.body,
                exchange=RabbitExchange(name, type=ExchangeType.TOPIC, durable=True),
                routing_key=message.key,
                headers=dict(message.headers),
                content_type=message.content_type,
            )
            return
        # As the relay publishes: with the partition header the consumers route by.
        await self.service.transport.publish_events([(consumer.stream.name, message)])

    async def set_aside(self, channel: str, count: int) -> list[Received]:
        """The first ``count`` messages on a DLQ or ``skipped`` channel."""
        if self.probe is None:
            return self.collected[channel][:count]
        return await self.probe.collect(channel, lambda _: True, count=count, timeout=30)


@asynccontextmanager
async def policy_bench(
    transport: str,
    broker_url: str | None,
    *,
    commands: Mapping[CommandChannel, Callable[..., Any]] | None = None,
    events: Mapping[EventConsumer, Callable[[Any], None]] | None = None,
) -> AsyncIterator[PolicyBench]:
    """Run ``commands`` (channel -> handler) and ``events`` (consumer -> a function that
    subscribes its handlers to what ``Service.event_subscriber`` returned) on ``transport``.
    """
    commands, events = commands or {}, events or {}
    service = build_service(bench_settings(transport, broker_url))
    router = service.transport.router()
    for channel, handler in commands.items():
        service.command_subscriber(router, channel)(handler)
    for consumer, subscribe_handlers in events.items():
        subscribe_handlers(service.event_subscriber(router, consumer))
    consumers = [*commands, *events]
    set_aside = [name for c in consumers for name in (c.dead_letters, c.skipped)]
    in_memory = transport in IN_MEMORY
    bench = PolicyBench(
        transport, service, None if in_memory else await probe_for(service.settings)
    )
    if in_memory:
        for name in set_aside:
            group = f"bench-{name}"
            collect = _Collector(bench.collected[name])
            service.transport.channel_subscriber(router, name, group)(collect)
        if transport == "rabbit-memory":
            for channel in commands:
                for name in channel.retry_channels:
                    expire = _DelayQueue(service, channel)
                    service.transport.channel_subscriber(router, name, name)(expire)
    else:
        assert bench.probe is not None
        for name in set_aside:
            await bench.probe.watch(name)
    service.transport.broker.include_router(router)  # type: ignore[arg-type]
    async with AsyncExitStack() as stack:
        stack.push_async_callback(service.close)
        if bench.probe is not None:
            stack.push_async_callback(bench.probe.close)
        if transport == "rabbit-memory":
            await stack.enter_async_context(TestRabbitBroker(service.transport.broker))  # type: ignore[arg-type]
        elif transport == "kafka-memory":
            await stack.enter_async_context(TestKafkaBroker(service.transport.broker))  # type: ignore[arg-type]
            service.transport.defer = lambda message, *, until: None  # type: ignore[method-assign]
        else:
            await service.transport.broker.start()
            stack.push_async_callback(service.transport.broker.stop)
        yield bench
