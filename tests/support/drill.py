"""Broker access for the reliability drill: publish through restarts, restart the broker,
collect events, and find anything left unacknowledged."""

import asyncio
import contextlib
import subprocess
import time
from collections.abc import Mapping
from typing import Protocol
from uuid import uuid4

import aio_pika
import httpx

from commerce.adapters.broker import namespaced
from commerce.config import Settings
from commerce.messages.channels import COMMAND_EXCHANGE, REGISTER_USER, USERS

__all__ = ["DrillBroker", "RabbitDrill", "wait_ready"]


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

    async def prepare(self, settings: Settings) -> None: ...

    async def publish(
        self, settings: Settings, body: bytes, headers: Mapping[str, str], key: str
    ) -> None: ...

    async def restart(self) -> None: ...

    async def collect_events(
        self, settings: Settings, expected: set[str], tenant: str
    ) -> set[str]: ...

    async def unfinished(self, settings: Settings) -> dict[str, int]: ...

    async def close(self) -> None: ...


class RabbitDrill:
    """RabbitMQ: a durable queue records the event stream; restart = stop_app/start_app."""

    def __init__(self, url: str) -> None:
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
        ns = settings.broker.namespace
        channel = await self._publish_channel()
        stream = await channel.declare_exchange(namespaced(ns, USERS.name), "topic", durable=True)
        events = await channel.declare_queue(namespaced(ns, "drill.events"), durable=True)
        await events.bind(stream, "#")
        commands = await channel.declare_exchange(
            namespaced(ns, COMMAND_EXCHANGE), "direct", durable=True
        )
        work = await channel.declare_queue(namespaced(ns, REGISTER_USER.name), durable=True)
        await work.bind(commands, routing_key=work.name)

    async def publish(
        self, settings: Settings, body: bytes, headers: Mapping[str, str], key: str
    ) -> None:
        ns = settings.broker.namespace
        amqp_headers = {k: v for k, v in headers.items() if k != "content-type"}
        for _ in range(120):
            try:
                channel = await self._publish_channel()
                exchange = await channel.get_exchange(namespaced(ns, COMMAND_EXCHANGE))
                await exchange.publish(
                    aio_pika.Message(
                        body,
                        headers=amqp_headers,
                        content_type="application/json",
                        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                        message_id=str(uuid4()),
                    ),
                    routing_key=namespaced(ns, REGISTER_USER.name),
                )
                return
            except (aio_pika.exceptions.AMQPError, ConnectionError, RuntimeError):
                self._channel = None
                await asyncio.sleep(0.5)
        raise AssertionError("could not publish to RabbitMQ for a minute")

    async def restart(self) -> None:
        for command in ("stop_app", "start_app", "await_startup"):
            subprocess.run(["rabbitmqctl", command], check=True, timeout=120, capture_output=True)
        self._channel = None

    async def collect_events(self, settings: Settings, expected: set[str], tenant: str) -> set[str]:
        """Subjects of ``tenant``'s events (the relay also publishes other tests' rows)."""
        channel = await self._publish_channel()
        queue = await channel.get_queue(namespaced(settings.broker.namespace, "drill.events"))
        seen: set[str] = set()
        deadline = time.monotonic() + 120
        while not expected <= seen and time.monotonic() < deadline:
            message = await queue.get(fail=False)
            if message is None:
                await asyncio.sleep(0.2)
                continue
            await message.ack()
            headers = message.headers or {}
            if str(headers.get("ce-tenantid")) == tenant:
                seen.add(str(headers.get("ce-subject", "")))
        return seen

    async def unfinished(self, settings: Settings) -> dict[str, int]:
        assert self._connection is not None
        ns = settings.broker.namespace
        names = [REGISTER_USER.name, *REGISTER_USER.retry_channels, REGISTER_USER.dead_letters]
        left: dict[str, int] = {}
        for name in names:
            channel = await self._connection.channel()
            try:
                queue = await channel.declare_queue(namespaced(ns, name), passive=True)
            except aio_pika.exceptions.ChannelClosed:
                continue  # never declared: nothing ever waited there
            count = queue.declaration_result.message_count or 0
            if count:
                left[name] = count
            await channel.close()
        return left

    async def close(self) -> None:
        if self._connection is not None:
            await self._connection.close()
