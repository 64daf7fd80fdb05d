"""The reliability drill's broker access: publish through restarts, restart the broker,
collect events, and find anything left unacknowledged (the plan is in
:mod:`tests.support.drill_plan`).

:class:`DrillBroker` is one transport's part; :class:`RabbitDrill` is RabbitMQ's, and
:class:`tests.support.kafka_drill.KafkaDrill` is Kafka's.
"""

import asyncio
import contextlib
import subprocess
import time
from typing import Protocol
from uuid import uuid4

import aio_pika
import httpx
from aio_pika.abc import HeadersType

from commerce.config import Settings
from commerce.identity.messages.channels import USERS
from commerce.platform.messaging.channels import COMMAND_EXCHANGE, EventConsumer
from commerce.platform.messaging.transport import namespaced
from commerce.registry.channels import CONSUMERS
from tests.support.drill_plan import DRILL_CHANNELS, Message
from tests.support.namespaces import remove_issued_namespaces

__all__ = [
    "COLLECT_SECONDS",
    "DrillBroker",
    "Published",
    "RabbitDrill",
    "consumer_queues",
    "wait_ready",
]

COLLECT_SECONDS = 120.0
"""How long :meth:`DrillBroker.collect_events` waits for the expected events."""

type Published = dict[str, list[tuple[str, int]]]
"""Events by subject: ``(id, aggregate version)`` in the order they were delivered."""


async def wait_ready(settings: Settings, timeout: float = 60) -> None:
    """Until the worker's ``/ready`` answers 200."""
    url = f"http://127.0.0.1:{settings.http.port}/ready"
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=2) as client:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.3)
    raise AssertionError(f"the worker never became ready at {url}")


class DrillBroker(Protocol):
    """One transport's part of the drill."""

    url: str

    async def prepare(self, settings: Settings) -> None:
        """Declare what must exist before the first command (queues, topics)."""
        ...

    async def publish(self, settings: Settings, message: Message) -> None:
        """Send one command, retrying through broker restarts until it is confirmed."""
        ...

    async def restart(self) -> None:
        """Stop the broker and start it again with its data kept."""
        ...

    async def collect_events(
        self, settings: Settings, expected: set[str], tenant: str
    ) -> Published:
        """``tenant``'s events by subject, with their ``aggregateversion`` extension.

        Reads until every event id in ``expected`` was delivered, or two minutes passed.
        """
        ...

    async def unfinished(self, settings: Settings) -> dict[str, int]:
        """Messages of the drill's channels not yet acknowledged by their consumer."""
        ...

    async def consuming(self, settings: Settings) -> bool:
        """Whether every queue / consumer group the worker reads has all its consumers.

        The worker has started once this holds; a broker restart before that fails its
        start-up (see the drill's module docstring).
        """
        ...

    async def close(self) -> None:
        """Release the drill's own connections."""
        ...


def consumer_queues(settings: Settings) -> dict[str, bool]:
    """Every RabbitMQ queue the service's consumers use: whether a consumer reads it.

    A command consumer reads its channel's queue; an ordered event consumer reads one
    partition queue per ``settings.broker.partitions``. Each has a delay queue per retry
    round (read by nobody: expired messages return) and a dead-letter queue (read by the
    archiver).
    """
    queues: dict[str, bool] = {}
    for consumer in CONSUMERS:
        if isinstance(consumer, EventConsumer):
            partitions = range(settings.broker.partitions)
            queues |= dict.fromkeys((f"{consumer.name}.p{n}" for n in partitions), True)
        else:
            queues[consumer.name] = True
        queues |= dict.fromkeys(consumer.retry_channels, False) | {consumer.dead_letters: True}
    return {namespaced(settings.broker.namespace, name): read for name, read in queues.items()}


def _rabbitmqctl(command: str) -> None:
    subprocess.run(["rabbitmqctl", command], check=True, timeout=120, capture_output=True)


class RabbitDrill:
    """RabbitMQ: a durable queue records the event stream; restart = stop_app/start_app."""

    def __init__(self, url: str) -> None:
        """Drive the broker at ``url`` (restarts need ``rabbitmqctl`` on this host)."""
        self.url = url
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def _publish_channel(self) -> aio_pika.abc.AbstractChannel:
        if self._connection is None or self._connection.is_closed:
            self._connection = await aio_pika.connect_robust(self.url)
        if self._channel is None or self._channel.is_closed:
            self._channel = await self._connection.channel(publisher_confirms=True)
        return self._channel

    async def prepare(self, settings: Settings) -> None:
        """Declare the command routes and a queue recording the users' event stream.

        First the queues of earlier tests' namespaces go, so the restarts stay quick.
        """
        ns = settings.broker.namespace
        await remove_issued_namespaces(self.url, keep={ns})
        channel = await self._publish_channel()
        stream = await channel.declare_exchange(namespaced(ns, USERS.name), "topic", durable=True)
        events = await channel.declare_queue(namespaced(ns, "drill.events"), durable=True)
        await events.bind(stream, "#")
        commands = await channel.declare_exchange(
            namespaced(ns, COMMAND_EXCHANGE), "direct", durable=True
        )
        for command_channel in DRILL_CHANNELS:
            work = await channel.declare_queue(namespaced(ns, command_channel.name), durable=True)
            await work.bind(commands, routing_key=work.name)

    async def publish(self, settings: Settings, message: Message) -> None:
        """Publish persistently with confirms, retrying for a minute through restarts."""
        ns = settings.broker.namespace
        amqp_headers: HeadersType = {
            k: v for k, v in message.headers.items() if k != "content-type"
        }
        for _ in range(120):
            try:
                channel = await self._publish_channel()
                exchange = await channel.get_exchange(namespaced(ns, COMMAND_EXCHANGE))
                await exchange.publish(
                    aio_pika.Message(
                        message.body,
                        headers=amqp_headers,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=str(uuid4()),
                    ),
                    routing_key=namespaced(ns, message.channel.name),
                )
                return
            except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError):
                self._channel = None
                await asyncio.sleep(0.5)
        raise AssertionError("could not publish to RabbitMQ for a minute")

    async def restart(self) -> None:
        """``rabbitmqctl stop_app``, ``start_app``, ``await_startup``: queues are kept.

        The broker is started again even when the stop fails or the test is interrupted,
        so one failed drill never leaves the tests after it without a broker.
        """
        try:
            await asyncio.to_thread(_rabbitmqctl, "stop_app")
        finally:
            await asyncio.to_thread(_rabbitmqctl, "start_app")
            await asyncio.to_thread(_rabbitmqctl, "await_startup")
            self._channel = None

    async def collect_events(
        self, settings: Settings, expected: set[str], tenant: str
    ) -> Published:
        """Only ``tenant``'s events count: the relay also publishes other tests' rows."""
        channel = await self._publish_channel()
        queue = await channel.get_queue(namespaced(settings.broker.namespace, "drill.events"))
        seen: Published = {}
        missing = set(expected)
        deadline = time.monotonic() + COLLECT_SECONDS
        while missing and time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            await message.ack()
            headers = {name: str(value) for name, value in (message.headers or {}).items()}
            if headers.get("ce-tenantid") == tenant:
                event = headers.get("ce-id", ""), int(headers.get("ce-aggregateversion", "0"))
                seen.setdefault(headers.get("ce-subject", ""), []).append(event)
                missing.discard(event[0])
        return seen

    async def _queue_state(self, name: str) -> tuple[int, int] | None:
        """``(messages ready, consumers)`` of queue ``name``; None if it does not exist."""
        assert self._connection is not None
        channel = await self._connection.channel()
        try:
            queue = await channel.declare_queue(name, passive=True)
        except aio_pika.exceptions.ChannelClosed:
            return None
        result = queue.declaration_result
        await channel.close()
        return result.message_count or 0, result.consumer_count or 0

    async def unfinished(self, settings: Settings) -> dict[str, int]:
        """Messages ready in any of the service consumers' queues."""
        left: dict[str, int] = {}
        for name in consumer_queues(settings):
            state = await self._queue_state(name)
            if state is not None and state[0]:
                left[name] = state[0]
        return left

    async def consuming(self, settings: Settings) -> bool:
        """Whether every queue a consumer reads has one."""
        for name, read in consumer_queues(settings).items():
            state = await self._queue_state(name) if read else (0, 1)
            if state is None or state[1] == 0:
                return False
        return True

    async def close(self) -> None:
        """Close the drill's connection."""
        if self._connection is not None:
            await self._connection.close()
