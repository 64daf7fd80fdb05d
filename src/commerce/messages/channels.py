"""Channel names: one channel per command type, one stream per aggregate type.

RabbitMQ: commands go through the direct exchange :data:`COMMAND_EXCHANGE` with the
channel name as routing key, into a durable queue of the same name; each event stream is
a topic exchange named after the stream, routed by aggregate id. Kafka: every channel and
stream is a topic of the same name, keyed by aggregate id.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "COMMAND_EXCHANGE",
    "REGISTER_USER",
    "REJECTIONS",
    "USERS",
    "CommandChannel",
    "EventStream",
    "dead_letter_channel",
    "skipped_channel",
]

COMMAND_EXCHANGE = "commerce.commands"


def dead_letter_channel(consumer: str) -> str:
    """Where a consumer parks messages it cannot process."""
    return f"{consumer}.dlq"


def skipped_channel(consumer: str) -> str:
    """Where a consumer puts messages of a type it has no handler for."""
    return f"{consumer}.skipped"


@dataclass(frozen=True, slots=True)
class CommandChannel:
    """A point-to-point channel carrying one command type."""

    name: str
    description: str

    @property
    def consumer(self) -> str:
        """The consumer (queue / consumer group) that owns this channel."""
        return self.name

    @property
    def dead_letters(self) -> str:
        """The consumer's dead-letter channel."""
        return dead_letter_channel(self.consumer)

    @property
    def skipped(self) -> str:
        """The consumer's channel for messages of unknown type."""
        return skipped_channel(self.consumer)


@dataclass(frozen=True, slots=True)
class EventStream:
    """A publish-subscribe stream of one aggregate type's integration events."""

    name: str
    aggregate_type: str
    description: str


REGISTER_USER = CommandChannel(
    name="commerce.identity.register-user",
    description="Register a user account in a tenant.",
)

USERS = EventStream(
    name="commerce.identity.user",
    aggregate_type="identity.user",
    description="Integration events of user accounts, keyed by user id.",
)

REJECTIONS = EventStream(
    name="commerce.rejections",
    aggregate_type="command",
    description="Commands refused by a business rule, keyed by the command's aggregate id.",
)
