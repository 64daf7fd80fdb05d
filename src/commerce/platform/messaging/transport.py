"""The message transport port and what both transports share.

:class:`Transport` hides whether RabbitMQ or Kafka carries the messages: the same
subscribers, relay and operator tools run on either (see ``rabbitmq`` and ``kafka``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from faststream import StreamMessage
from faststream.kafka import KafkaBroker, KafkaRouter
from faststream.rabbit import RabbitBroker, RabbitRouter

from commerce.platform.messaging.channels import (
    CommandChannel,
    Consumer,
    EventConsumer,
    EventStream,
)
from commerce.platform.messaging.envelope import HeaderStyle

__all__ = [
    "AnyBroker",
    "AnyRouter",
    "MessageFilter",
    "Middleware",
    "OutgoingMessage",
    "RawMessage",
    "SubscriberDecorator",
    "Transport",
    "namespaced",
    "text_headers",
]

type Middleware = Callable[..., Any]
"""A FastStream broker middleware factory: ``(message, *, context) -> BaseMiddleware``."""

type AnyBroker = RabbitBroker | KafkaBroker
type AnyRouter = RabbitRouter | KafkaRouter
type MessageFilter = Callable[[StreamMessage[Any]], bool]
"""Picks the messages a handler takes, among those its subscriber receives."""


class SubscriberDecorator(Protocol):
    """Subscribes a handler to a channel.

    Several handlers may share a channel, each taking the messages its ``filter`` accepts
    (e.g. by CloudEvents type), tried in the order they were subscribed; a message no
    handler takes goes to the consumer's ``skipped`` channel.
    """

    def __call__(
        self, func: Callable[..., Awaitable[Any]], /, *, filter: MessageFilter = ...
    ) -> Any:
        """Subscribe ``func`` to the messages ``filter`` accepts (by default, all)."""
        ...


@dataclass(frozen=True, slots=True)
class RawMessage:
    """A received message as the transport delivered it, before any decoding."""

    channel: str
    key: str | None
    body: bytes
    headers: dict[str, str]
    content_type: str | None


@dataclass(frozen=True, slots=True)
class OutgoingMessage:
    """A message ready to send: body bytes, binary-mode headers, partition/routing key."""

    body: bytes
    key: str
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str | None = "application/json"
    message_id: str | None = None


class Transport(Protocol):
    """A broker technology: builds the FastStream broker and routes our channels on it."""

    @property
    def style(self) -> HeaderStyle:
        """The CloudEvents binding of this transport."""
        ...

    @property
    def broker(self) -> AnyBroker:
        """The FastStream broker."""
        ...

    def router(self, *, middlewares: tuple[Middleware, ...] = ()) -> AnyRouter:
        """A FastStream router for this transport."""
        ...

    def command_subscriber(self, router: AnyRouter, channel: CommandChannel) -> SubscriberDecorator:
        """Subscribe a handler to ``channel``; acks only after the handler returns."""
        ...

    def event_subscriber(self, router: AnyRouter, consumer: EventConsumer) -> SubscriberDecorator:
        """Subscribe an ordered consumer to its stream (and its retry channels).

        Events of one aggregate reach the handler one at a time, in stream order; events of
        different aggregates run concurrently. Acks only after the handler returns.
        """
        ...

    async def redeliver(self, consumer: EventConsumer, message: OutgoingMessage) -> None:
        """Deliver ``message`` again to ``consumer`` only, in its aggregate's partition."""
        ...

    def channel_subscriber(
        self, router: AnyRouter, channel: str, group: str
    ) -> SubscriberDecorator:
        """Subscribe a handler to the plain channel ``channel`` as consumer group ``group``.

        The handler receives the undecoded body bytes; it is acked after it returns and
        redelivered when it raises (no dead-lettering).
        """
        ...

    async def send_command(self, channel: CommandChannel, message: OutgoingMessage) -> None:
        """Send a command to its channel (declaring the channel if needed)."""
        ...

    async def declare_streams(self, streams: Sequence[EventStream]) -> None:
        """Make each of ``streams`` exist on the broker, as its publishers declare it.

        Idempotent (what exists is left as it is) and raises if the broker refuses one, so a
        consumer written from the AsyncAPI document may bind before the stream's first event.
        The worker calls it at start-up, before ``/ready`` turns 200.
        """
        ...

    async def publish_events(self, events: Sequence[tuple[str, OutgoingMessage]]) -> None:
        """Publish each ``(stream name, event)``, keyed by aggregate id, all at once.

        Returns when the broker confirmed every one; raises if any failed. Events of one
        aggregate must not share a call when their order matters: their relative order is
        only guaranteed once the first is confirmed.
        """
        ...

    async def send_to_channel(self, channel: str, message: OutgoingMessage) -> None:
        """Send to a plain point-to-point channel (dead letters, skipped messages)."""
        ...

    async def send_for_retry(
        self, channel: Consumer, round_number: int, message: OutgoingMessage, delay: float
    ) -> None:
        """Park ``message`` for ``delay`` seconds, then deliver it to ``channel`` again."""
        ...

    def defer(self, message: StreamMessage[Any], *, until: float) -> None:
        """Hold back a redelivered message until Unix time ``until``.

        Raises ``NackMessage`` once the message is rescheduled; returns when it may run now.
        """
        ...

    def raw(self, message: Any) -> RawMessage:
        """Read a transport-native incoming message without decoding it."""
        ...

    async def ping(self, within: float) -> bool:
        """Whether the broker answers."""
        ...

    def keep_starting(self) -> None:
        """Make the broker's ``start`` retry until every subscriber runs (long-running
        processes); by default it raises on the first failure."""
        ...


def namespaced(namespace: str, name: str) -> str:
    """``name`` inside ``namespace`` (environments sharing one broker stay apart)."""
    return f"{namespace}.{name}" if namespace else name


def text_headers(headers: Mapping[str, Any]) -> dict[str, str]:
    """Header values as text (transports deliver bytes, numbers or strings)."""
    return {
        name: value.decode(errors="replace") if isinstance(value, bytes | bytearray) else str(value)
        for name, value in headers.items()
        if value is not None
    }
