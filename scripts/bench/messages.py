"""Commands as an upstream service sends them (RegisterUser here; the catalogue and order
mix in :mod:`scripts.bench.shop_mix`), and publishers for both transports, routing each
command to its channel: all at once with a window of unconfirmed messages (preloading),
or one by one on a schedule (fixed offered load).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, Self
from uuid import UUID, uuid4

import aio_pika
from aiokafka import AIOKafkaProducer

from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.messaging.channels import COMMAND_EXCHANGE
from commerce.platform.messaging.commands import Command as CommandMessage
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.messaging.transport import namespaced

__all__ = [
    "Command",
    "CommandPublisher",
    "KafkaCommandPublisher",
    "RabbitCommandPublisher",
    "command_of",
    "publish_all",
    "publish_paced",
    "register_user",
]

PASSWORD = "correct horse battery staple"  # noqa: S105 - a test password


@dataclass(frozen=True, slots=True)
class Command:
    """One command ready to send: its id and CloudEvents time (Unix seconds) kept."""

    id: str
    time: float
    body: bytes
    headers: dict[str, str]
    key: str
    channel: str = REGISTER_USER.name
    """The command channel (not namespaced)."""


def command_of(channel: str, message: CommandMessage, tenant: UUID, style: HeaderStyle) -> Command:
    """``message`` of ``tenant`` for ``channel``, in a fresh envelope keyed by its aggregate."""
    key = message.aggregate_key()
    envelope = Envelope.new(
        type=message.message_type, source="/bench", tenant_id=tenant, subject=key
    )
    return Command(
        id=str(envelope.id),
        time=envelope.time.timestamp(),
        body=message.wire_body(),
        headers=envelope.headers(style) | {"content-type": "application/json"},
        key=key,
        channel=channel,
    )


def register_user(
    tenant: UUID, index: int, style: HeaderStyle, *, user_id: UUID | None = None
) -> Command:
    """RegisterUser number ``index`` of ``tenant`` (fresh user id, unique e-mail)."""
    message = RegisterUser(
        user_id=user_id or uuid4(),
        email=f"bench-{index}@example.com",
        display_name=f"Bench User {index}",
        password=PASSWORD,
    )
    return command_of(REGISTER_USER.name, message, tenant, style)


class CommandPublisher(Protocol):
    """Sends commands to the RegisterUser channel; :meth:`send` returns once confirmed."""

    style: HeaderStyle

    async def send(self, command: Command) -> None:
        """Publish one command and wait for the broker's confirm."""
        ...

    async def close(self) -> None:
        """Close the connection."""
        ...


class RabbitCommandPublisher:
    """aio-pika with publisher confirms, through the service's command exchange."""

    style = HeaderStyle.RABBIT

    def __init__(self, url: str, namespace: str) -> None:
        self._url = url
        self._namespace = namespace
        self._exchange_name = namespaced(namespace, COMMAND_EXCHANGE)
        self._connection: aio_pika.abc.AbstractConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None
        self._exchange: aio_pika.abc.AbstractExchange | None = None
        self._declared: dict[str, asyncio.Task[None]] = {}

    async def start(self) -> Self:
        """Connect and declare the command topology exactly as the worker does."""
        self._connection = await aio_pika.connect(self._url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        self._exchange = await self._channel.declare_exchange(
            self._exchange_name, aio_pika.ExchangeType.DIRECT, durable=True
        )
        await self._declare(REGISTER_USER.name)
        return self

    async def _declare(self, channel: str) -> None:
        """Declare and bind the channel's queue once (concurrent sends share the task)."""
        if (declared := self._declared.get(channel)) is None:
            declared = asyncio.ensure_future(self._bind(namespaced(self._namespace, channel)))
            self._declared[channel] = declared
        await declared

    async def _bind(self, routing_key: str) -> None:
        assert self._channel is not None
        assert self._exchange is not None
        queue = await self._channel.declare_queue(routing_key, durable=True)
        await queue.bind(self._exchange, routing_key=routing_key)

    async def send(self, command: Command) -> None:
        """Publish persistently to the command's channel; returns once RabbitMQ confirmed."""
        assert self._exchange is not None
        await self._declare(command.channel)
        headers = {k: v for k, v in command.headers.items() if k != "content-type"}
        message = aio_pika.Message(
            command.body,
            headers=headers,  # type: ignore[arg-type]
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=command.id,
        )
        routing_key = namespaced(self._namespace, command.channel)
        await self._exchange.publish(message, routing_key=routing_key)

    async def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            await self._connection.close()


class KafkaCommandPublisher:
    """aiokafka with ``acks=all``, keyed by aggregate id, to the command's channel topic."""

    style = HeaderStyle.KAFKA

    def __init__(self, bootstrap: str, namespace: str) -> None:
        self._namespace = namespace
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=False,
            request_timeout_ms=30_000,
        )

    async def start(self) -> Self:
        """Connect."""
        await self._producer.start()
        return self

    async def send(self, command: Command) -> None:
        """Produce; returns once the broker acknowledged the record."""
        headers = [(name, value.encode()) for name, value in command.headers.items()]
        delivery = await self._producer.send(
            namespaced(self._namespace, command.channel),
            command.body,
            key=command.key.encode(),
            headers=headers,
        )
        await delivery

    async def close(self) -> None:
        """Flush and disconnect."""
        await self._producer.stop()


async def publish_all(
    send: Callable[[Command], Awaitable[None]],
    commands: Sequence[Command],
    *,
    window: int = 256,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Send every command, keeping up to ``window`` unconfirmed (batched confirms)."""
    slots = asyncio.Semaphore(window)
    done = 0
    failures: list[BaseException] = []

    async def one(command: Command) -> None:
        nonlocal done
        try:
            await send(command)
        except Exception as error:
            failures.append(error)
        finally:
            slots.release()
            done += 1
            if progress is not None:
                progress(1)

    tasks = set()
    for command in commands:
        await slots.acquire()
        if failures:
            break
        task = asyncio.create_task(one(command))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    if failures:
        raise failures[0]


async def publish_paced(
    publisher: CommandPublisher,
    tenant: UUID,
    *,
    per_second: float,
    total: int,
    progress: Callable[[int], None] | None = None,
) -> list[Command]:
    """Send ``total`` fresh RegisterUser commands at ``per_second``, open loop.

    Command ``i`` is built (its CloudEvents ``time`` stamped) and sent at
    ``start + i / per_second``; sends do not wait for earlier confirms, so a slow broker
    or service never lowers the offered load (a late loop catches up in a burst).
    """
    sent: list[Command] = []
    pending: set[asyncio.Task[None]] = set()
    failures: list[BaseException] = []

    def finished(task: asyncio.Task[None]) -> None:
        pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            failures.append(task.exception())  # type: ignore[arg-type]
        if progress is not None:
            progress(1)

    loop = asyncio.get_running_loop()
    start = loop.time() + 0.1
    for index in range(total):
        delay = start + index / per_second - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if failures:
            raise failures[0]
        command = register_user(tenant, index, publisher.style)
        sent.append(command)
        task = asyncio.create_task(publisher.send(command))
        pending.add(task)
        task.add_done_callback(finished)
    await asyncio.gather(*list(pending))
    if failures:
        raise failures[0]
    return sent
