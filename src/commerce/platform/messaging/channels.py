"""Channel names: one channel per command type, one stream per aggregate type.

RabbitMQ: commands go through the direct exchange :data:`COMMAND_EXCHANGE` with the
channel name as routing key, into a durable queue of the same name; each event stream is
a topic exchange named after the stream, routed by aggregate id. Kafka: every channel and
stream is a topic of the same name, keyed by aggregate id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import ClassVar

from commerce.platform.kit.errors import DomainError, InconsistentEventStream

__all__ = [
    "COMMAND_EXCHANGE",
    "DEFAULT_RETRY",
    "EVENT_SOURCED_COMMAND_RETRY",
    "FAULTS",
    "PROCESS_MANAGER_RETRY",
    "PROJECTION_RETRY",
    "REJECTIONS",
    "CommandChannel",
    "Consumer",
    "ConsumerChannels",
    "EventConsumer",
    "EventStream",
    "RetryPolicy",
    "check_inbox_retention",
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

    First ``immediate`` in-process retries, then ``rounds`` delayed redeliveries through the
    broker, then the DLQ. Round ``n`` waits ``initial_delay * multiplier ** (n - 1)`` seconds,
    capped at ``max_delay`` (exponential backoff), each spread by ±``jitter`` (0.2: times 0.8
    to 1.2) so that messages failing together do not come back together. Decode, schema
    and envelope errors, and the ``permanent`` exception types, skip all retries.
    """

    immediate: int = 2
    rounds: int = 3
    initial_delay: float = 1.0
    multiplier: float = 10.0
    max_delay: float = 60.0
    jitter: float = 0.2
    permanent: tuple[type[BaseException], ...] = ()

    def __post_init__(self) -> None:
        valid = (
            0 <= self.immediate <= _MAX_TRIES
            and 0 <= self.rounds <= _MAX_TRIES
            and 0 < self.initial_delay <= self.max_delay
            and 1 <= self.multiplier <= _MAX_MULTIPLIER
            and 0 <= self.jitter < 1
        )
        if not valid:
            raise ValueError(f"invalid retry policy: {self!r}")

    def nominal_delay(self, round_number: int) -> float:
        """Seconds round ``round_number`` (1-based) waits before jitter: the backoff formula."""
        return min(self.max_delay, self.initial_delay * self.multiplier ** (round_number - 1))

    def delay(self, round_number: int, unit_random: float) -> float:
        """Seconds to wait before delayed round ``round_number`` (1-based).

        ``unit_random`` in [0, 1) picks the point within the ±jitter band.
        """
        return self.nominal_delay(round_number) * (1 - self.jitter + 2 * self.jitter * unit_random)

    @property
    def delays(self) -> tuple[float, ...]:
        """Each round's nominal delay, in seconds (what the AsyncAPI documents show)."""
        return tuple(self.nominal_delay(n) for n in range(1, self.rounds + 1))

    @property
    def longest_schedule(self) -> float:
        """Seconds from a first failure to the last redelivery at worst (every round at its
        longest jittered delay): how long a retried message may still come back."""
        return sum(self.delays) * (1 + self.jitter)


_MAX_TRIES = 50
_MAX_MULTIPLIER = 100.0

DEFAULT_RETRY = RetryPolicy()
"""Two immediate retries, then redelivery after about 1 s, 10 s and 60 s (±20 %)."""

EVENT_SOURCED_COMMAND_RETRY = RetryPolicy(immediate=4, permanent=(InconsistentEventStream,))
"""Commands to event-sourced aggregates (orders): two commands racing for one order meet
as a version conflict that an immediate retry resolves, so more immediate tries; a stream
that does not replay is corrupt storage, which no redelivery repairs."""


PROJECTION_RETRY = RetryPolicy(
    immediate=3,
    initial_delay=0.5,
    multiplier=4.0,
    max_delay=120.0,
    rounds=5,
    permanent=(DomainError, InconsistentEventStream, TypeError),
)
"""Read-model projections: while an event is out of line its aggregate's later events wait
(sequenced DLQ), so the first redeliveries come soon (0.5 s, 2 s, 8 s, 32 s, 120 s); an
event the projection refuses by a rule, or cannot read, fails the same way every time."""

PROCESS_MANAGER_RETRY = RetryPolicy(
    initial_delay=1.0,
    multiplier=10.0,
    max_delay=600.0,
    rounds=4,
    permanent=(DomainError, InconsistentEventStream),
)
"""Event consumers that act (the billing policy issues invoices): an outage is waited out
longer (1 s, 10 s, 100 s, 600 s) because a dead letter stops the business process; a
business-rule refusal on an event is deterministic, so it is dead-lettered at once."""


def check_inbox_retention(retention_seconds: float, consumers: Iterable[ConsumerChannels]) -> None:
    """Raise :class:`ValueError` unless inbox rows outlive every consumer's retry schedule.

    A message redelivered after its inbox row was purged would be applied a second time.
    """
    longest = max(consumers, key=lambda consumer: consumer.retry.longest_schedule, default=None)
    if longest is not None and retention_seconds <= longest.retry.longest_schedule:
        msg = (
            f"inbox retention of {retention_seconds:g} s must exceed the longest retry "
            f"schedule, {longest.retry.longest_schedule:g} s (consumer {longest.consumer})"
        )
        raise ValueError(msg)


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
    of different aggregates concurrently (RabbitMQ: partition queues, chosen by the
    publisher, with a single active consumer each; Kafka: the stream's partitions). When
    one of its events leaves the line (delayed retry or DLQ), later events of that
    aggregate are parked behind it until it is resolved (see
    ``docs/adr/0012-ordered-consumption.md``).
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


REJECTIONS = EventStream(
    name="commerce.rejections",
    aggregate_type="command",
    description="Commands refused by a business rule, keyed by the command's aggregate id.",
)

FAULTS = EventStream(
    name="commerce.faults",
    aggregate_type="command",
    description=(
        "Commands dead-lettered for a technical reason (out of retries, undecodable, "
        "schema- or envelope-invalid, a handler error), keyed by the command's aggregate id "
        "(its `ce-subject`), else by its message id."
    ),
)


type Consumer = CommandChannel | EventConsumer
"""Anything that consumes messages under a failure policy."""
