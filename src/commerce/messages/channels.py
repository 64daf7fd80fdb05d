"""Channel names: one channel per command type, one stream per aggregate type.

RabbitMQ: commands go through the direct exchange :data:`COMMAND_EXCHANGE` with the
channel name as routing key, into a durable queue of the same name; each event stream is
a topic exchange named after the stream, routed by aggregate id. Kafka: every channel and
stream is a topic of the same name, keyed by aggregate id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

__all__ = [
    "BILLING_POLICY",
    "COMMAND_EXCHANGE",
    "DEFAULT_RETRY",
    "INVOICES",
    "ITEMS",
    "ORDERS",
    "REGISTER_USER",
    "REJECTIONS",
    "USERS",
    "USER_DIRECTORY",
    "CommandChannel",
    "Consumer",
    "ConsumerChannels",
    "EventConsumer",
    "EventStream",
    "RetryPolicy",
    "dead_letter_channel",
    "retry_channel",
    "skipped_channel",
]

COMMAND_EXCHANGE = "commerce.commands"


def dead_letter_channel(consumer: str) -> str:
    """Where a consumer parks messages it cannot process."""
    return f"{consumer}.dlq"


def retry_channel(consumer: str, round_number: int) -> str:
    """Where a consumer's messages wait for delayed redelivery round ``round_number``."""
    return f"{consumer}.retry.{round_number}"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How a consumer retries a transient failure before dead-lettering the message.

    First ``immediate`` in-process retries, then one delayed redelivery through the broker
    per entry of ``delays`` (seconds, each spread by ±``jitter``), then the DLQ. Decode,
    schema and envelope errors, and the ``permanent`` exception types, skip all retries.
    """

    immediate: int = 2
    delays: tuple[float, ...] = (1.0, 10.0, 60.0)
    jitter: float = 0.2
    permanent: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        if self.immediate < 0 or not 0 <= self.jitter < 1 or any(d <= 0 for d in self.delays):
            raise ValueError(f"invalid retry policy: {self!r}")

    def delay(self, round_number: int, unit_random: float) -> float:
        """Seconds to wait before delayed round ``round_number`` (1-based).

        ``unit_random`` in [0, 1) picks the point within the ±jitter band.
        """
        base = self.delays[round_number - 1]
        return base * (1 - self.jitter + 2 * self.jitter * unit_random)

    @property
    def rounds(self) -> int:
        """How many delayed redeliveries the policy allows."""
        return len(self.delays)


DEFAULT_RETRY = RetryPolicy()
"""Two immediate retries, then redelivery after about 1 s, 10 s and 60 s."""


def skipped_channel(consumer: str) -> str:
    """Where a consumer puts messages of a type it has no handler for."""
    return f"{consumer}.skipped"


class ConsumerChannels:
    """The channels every consumer owns: DLQ, skipped and one per delayed retry round.

    Mixed into :class:`CommandChannel` and :class:`EventConsumer`, which provide ``name``
    (the consumer's name) and ``retry``.
    """

    __slots__ = ()
    name: str
    retry: RetryPolicy

    @property
    def consumer(self) -> str:
        """The consumer (queue / consumer group) name."""
        return self.name

    @property
    def dead_letters(self) -> str:
        """The consumer's dead-letter channel."""
        return dead_letter_channel(self.consumer)

    @property
    def skipped(self) -> str:
        """The consumer's channel for messages of unknown type."""
        return skipped_channel(self.consumer)

    @property
    def retry_channels(self) -> tuple[str, ...]:
        """The consumer's delayed-redelivery channels, one per round."""
        return tuple(retry_channel(self.consumer, n) for n in range(1, self.retry.rounds + 1))


@dataclass(frozen=True, slots=True)
class CommandChannel(ConsumerChannels):
    """A point-to-point channel carrying one command type, and its one consumer.

    Commands are handled concurrently (up to the prefetch); the aggregate's optimistic
    concurrency, not the channel, orders two commands to one aggregate.
    """

    name: str
    description: str
    retry: RetryPolicy = field(default=DEFAULT_RETRY)
    ordered: ClassVar[bool] = False

    @property
    def source(self) -> str:
        """The channel the consumer reads: the command channel itself."""
        return self.name


@dataclass(frozen=True, slots=True)
class EventStream:
    """A publish-subscribe stream of one aggregate type's integration events."""

    name: str
    aggregate_type: str
    description: str


@dataclass(frozen=True, slots=True)
class EventConsumer(ConsumerChannels):
    """A downstream component consuming one event stream in its own queue / group.

    Ordered: events of one aggregate are handled one at a time in stream order, events
    of different aggregates concurrently (RabbitMQ: consistent-hash partition queues with a
    single active consumer each; Kafka: the stream's partitions). When one of its events
    leaves the line (delayed retry or DLQ), later events of that aggregate are parked
    behind it until it is resolved (see ``docs/adr/0012-ordered-consumption.md``).
    """

    name: str
    stream: EventStream
    description: str
    retry: RetryPolicy = field(default=DEFAULT_RETRY)
    ordered: ClassVar[bool] = True

    @property
    def source(self) -> str:
        """The channel the consumer reads: its event stream."""
        return self.stream.name


REGISTER_USER = CommandChannel(
    name="commerce.identity.register-user",
    description="Register a user account in a tenant.",
)

USERS = EventStream(
    name="commerce.identity.user",
    aggregate_type="identity.user",
    description="Integration events of user accounts, keyed by user id.",
)

ITEMS = EventStream(
    name="commerce.catalog.item",
    aggregate_type="catalog.item",
    description="Integration events of catalogue items, keyed by item id.",
)

ORDERS = EventStream(
    name="commerce.orders.order",
    aggregate_type="orders.order",
    description="Integration events of orders (event sourced), keyed by order id.",
)

INVOICES = EventStream(
    name="commerce.billing.invoice",
    aggregate_type="billing.invoice",
    description="Integration events of invoices, keyed by invoice id.",
)

REJECTIONS = EventStream(
    name="commerce.rejections",
    aggregate_type="command",
    description="Commands refused by a business rule, keyed by the command's aggregate id.",
)


type Consumer = CommandChannel | EventConsumer
"""Anything that consumes messages under a failure policy."""


USER_DIRECTORY = EventConsumer(
    name="commerce.projections.user-directory",
    stream=USERS,
    description="Keeps the user directory read model (users per tenant) from user events.",
)

BILLING_POLICY = EventConsumer(
    name="commerce.billing.invoice-policy",
    stream=ORDERS,
    description="The billing process manager: issues an order's invoice when the order is "
    "confirmed and voids it when a confirmed order is cancelled.",
)
