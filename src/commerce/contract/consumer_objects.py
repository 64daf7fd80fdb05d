"""The contract's channels of ordered event consumers: how each reads its stream, its
delayed-retry rounds, its dead letters and skipped messages (see ADR 0012)."""

from collections.abc import Iterator

from commerce.contract.channel_objects import PlannedChannel, namespaced
from commerce.contract.header_objects import (
    EVENT_REQUIRED,
    FAULT_HEADERS,
    RETRY_HEADERS,
    fault_example,
    headers_schema,
)
from commerce.contract.message_objects import Json, event_message, skipped_message
from commerce.platform.messaging.channels import EventConsumer
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.registry.channels import EVENT_CONSUMERS, events_on

__all__ = ["consumer_channels"]


def _failed_events(consumer: EventConsumer, style: HeaderStyle, role: str) -> dict[str, Json]:
    """The stream's events as they wait in a retry round or the DLQ: plus why they failed."""
    messages: dict[str, Json] = {}
    for event in events_on(consumer.stream):
        key, message = event_message(event, style)
        message |= {
            "name": f"{key}.{role}",
            "title": f"{event.__name__} ({role} of {consumer.consumer})",
            "description": "The original event, body and headers untouched, plus `x-fault-*` "
            "(why it failed) and, in retry rounds, `x-retry-*`.",
            "headers": headers_schema(
                style,
                event.message_type,
                required=EVENT_REQUIRED,
                extra=FAULT_HEADERS | RETRY_HEADERS,
                extra_required=list(FAULT_HEADERS),
            ),
        }
        reason, error = (
            ("handler-error", "builtins.ConnectionRefusedError: Connection refused")
            if role == "retry"
            else ("retries-exhausted", "builtins.ConnectionRefusedError: Connection refused")
        )
        for example in message["examples"]:
            example["name"] = f"{example['name']}-{role}"
            example["summary"] = f"Waiting in {role} after the database refused connections."
            example["headers"] |= fault_example(
                consumer, reason, error, consumer.retry.immediate + 1
            )
        messages[f"{consumer.consumer}.{key}.{role}"] = message
    return messages


def _reading(consumer: EventConsumer, style: HeaderStyle, namespace: str, partitions: int) -> str:
    name = namespaced(namespace, consumer.consumer)
    if style is HeaderStyle.KAFKA:
        return (
            f"Consumer group `{name}` reads topic `{namespaced(namespace, consumer.stream.name)}` "
            f"with one member per partition ({partitions} per worker), one record at a time "
            "per partition, committing after the transaction commits."
        )
    return (
        f"The headers exchange `{name}.partitions`, bound to the stream's topic exchange, "
        f"routes each event by its `commerce-partition` header (CRC-32 of the aggregate id "
        f"modulo {partitions}, set by the publisher) to one of {partitions} durable queues "
        f"`{name}.p0` … `{name}.p{partitions - 1}` (single active consumer, prefetch 1): one "
        "aggregate's events in order, different aggregates in parallel."
    )


def _consumer(
    consumer: EventConsumer, style: HeaderStyle, namespace: str, partitions: int
) -> Iterator[PlannedChannel]:
    events = dict(event_message(event, style) for event in events_on(consumer.stream))
    covers = tuple(f"{consumer.consumer}.p{n}" for n in range(partitions))
    group = namespaced(namespace, consumer.consumer) if style is HeaderStyle.KAFKA else None
    policy = consumer.retry
    yield PlannedChannel(
        consumer.consumer,
        namespaced(namespace, consumer.consumer),
        f"{consumer.consumer} (ordered consumer of {consumer.stream.name})",
        f"{consumer.description}\n\n{_reading(consumer, style, namespace, partitions)}\n\n"
        f"Failures: {policy.immediate} immediate retries, then the rounds "
        f"{', '.join(f'`{c}`' for c in consumer.retry_channels)}, then `{consumer.dead_letters}`"
        ". While one of an aggregate's events is out of line (retry round or DLQ), later events "
        "of that aggregate are parked and redelivered in order once it is resolved.",
        events,
        ("receive",),
        {"receive": f"{consumer.consumer} handles {consumer.stream.name} events in order"},
        group=group,
        covers=covers if style is HeaderStyle.RABBIT else (),
    )
    retried = _failed_events(consumer, style, "retry")
    for number, name in enumerate(consumer.retry_channels, 1):
        yield PlannedChannel(
            name,
            namespaced(namespace, name),
            f"{consumer.consumer} retry round {number}",
            f"Round {number} of {policy.rounds}: events of `{consumer.consumer}` that failed "
            f"transiently wait about {policy.delays[number - 1]:g} s (±{policy.jitter:.0%}). "
            + (
                "The consumer group also reads this topic; it carries released parked events too."
                if style is HeaderStyle.KAFKA
                else "A durable queue nobody consumes; each message's expiration dead-letters "
                "it back through the consumer's hash exchange to its aggregate's partition."
            ),
            retried,
            ("send",),
            {"send": f"Park a transiently failed event for round {number}"},
            group=group,
        )
    yield PlannedChannel(
        consumer.dead_letters,
        namespaced(namespace, consumer.dead_letters),
        f"{consumer.consumer} dead letters",
        f"Events `{consumer.consumer}` could not process, untouched, plus `x-fault-*` headers. "
        "Their aggregate stays held until an operator replays, edits or purges them.",
        _failed_events(consumer, style, "dead-letter"),
        ("send",),
        {"send": "Dead-letter an event", "receive": "Archive dead letters for the DLQ tooling"},
    )
    key, message = skipped_message(consumer, style)
    yield PlannedChannel(
        consumer.skipped,
        namespaced(namespace, consumer.skipped),
        f"Skipped by {consumer.consumer}",
        f"Events of a type `{consumer.consumer}` has no handler for, set aside untouched; "
        "archived with the dead letters for the DLQ tooling.",
        {key: message},
        ("send",),
        {
            "send": "Set aside an event no handler accepts",
            "receive": "Archive skipped events for the DLQ tooling",
        },
    )


def consumer_channels(
    style: HeaderStyle, namespace: str, partitions: int
) -> Iterator[PlannedChannel]:
    """The channels of every ordered event consumer, in catalogue order."""
    for consumer in EVENT_CONSUMERS:
        yield from _consumer(consumer, style, namespace, partitions)
