"""The channels of the contract, in document order: what each carries, who sends, who reads.

Derived from the message catalogue: per command route its work channel, its retry
channels (``CommandChannel.retry_channels``), its dead-letter and skipped channels; then
every event stream. New retry rounds, commands and events appear here without edits.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from commerce.contract import message_objects
from commerce.platform.messaging.channels import COMMAND_EXCHANGE, EventStream
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.registry.channels import (
    COMMAND_ROUTES,
    EVENT_CONSUMERS,
    EVENT_STREAMS,
    CommandRoute,
    events_on,
)

__all__ = [
    "PlannedChannel",
    "namespaced",
    "planned_channels",
    "published_channels",
    "server_description",
]

type Json = dict[str, Any]


def namespaced(namespace: str, name: str) -> str:
    """``name`` inside the broker namespace (as the transports name it)."""
    return f"{namespace}.{name}" if namespace else name


@dataclass(frozen=True, slots=True)
class PlannedChannel:
    """One channel of the document, before FastStream's bindings are merged in."""

    name: str
    address: str
    title: str
    description: str
    messages: dict[str, Json]
    actions: tuple[str, ...]
    summaries: dict[str, str]
    parameters: Json | None = None
    group: str | None = None
    """The Kafka consumer group that receives from the channel, if we know it."""
    covers: tuple[str, ...] = ()
    """FastStream's own channels this one describes (e.g. RabbitMQ partition queues)."""
    reply: Json | None = None
    """The AsyncAPI ``reply`` of the ``receive`` operation (request/reply channels)."""

    def channel(self, server_ref: str, bindings: Json | None) -> Json:
        """The AsyncAPI channel object."""
        channel: Json = {
            "address": self.address,
            "title": self.title,
            "description": self.description,
            "servers": [{"$ref": server_ref}],
        }
        if self.parameters:
            channel["parameters"] = self.parameters
        channel["messages"] = {
            key: {"$ref": f"#/components/messages/{key}"} for key in self.messages
        }
        if bindings:
            channel["bindings"] = bindings
        return channel

    def operation(self, action: str, bindings: Json | None) -> Json:
        """The AsyncAPI operation object for ``action`` (``send`` or ``receive``)."""
        operation: Json = {
            "action": action,
            "channel": {"$ref": f"#/channels/{self.name}"},
            "summary": self.summaries.get(action, f"{action.capitalize()} {self.name} messages"),
        }
        if not bindings and action == "receive" and self.group:
            group = {"type": "string", "enum": [self.group]}
            bindings = {"kafka": {"groupId": group, "bindingVersion": "0.4.0"}}
        if bindings:
            operation["bindings"] = bindings
        operation["messages"] = [
            {"$ref": f"#/channels/{self.name}/messages/{key}"} for key in self.messages
        ]
        if action == "receive" and self.reply is not None:
            operation["reply"] = self.reply
        return operation


def published_channels() -> Iterator[tuple[str, str, type[Any] | None, bool]]:
    """``(name, description, payload model, is event stream)`` of every channel we send to."""
    for route in COMMAND_ROUTES:
        channel = route.channel
        for retry in channel.retry_channels:
            yield retry, f"Delayed redelivery of {channel.name}.", route.command, False
        yield channel.dead_letters, f"Dead letters of {channel.consumer}.", route.command, False
        yield channel.skipped, f"Messages {channel.consumer} has no handler for.", None, False
    for consumer in EVENT_CONSUMERS:
        events = events_on(consumer.stream)
        first = events[0] if events else None
        for retry in consumer.retry_channels:
            yield retry, f"Delayed redelivery for {consumer.consumer}.", first, False
        yield consumer.dead_letters, f"Dead letters of {consumer.consumer}.", first, False
        yield consumer.skipped, f"Events {consumer.consumer} has no handler for.", None, False
    for stream in EVENT_STREAMS:
        events = events_on(stream)
        yield stream.name, stream.description, events[0] if events else None, True


def server_description(style: HeaderStyle, namespace: str) -> str:
    """What the broker holds, per transport."""
    prefix = f" Every name is prefixed with the namespace `{namespace}.`." if namespace else ""
    if style is HeaderStyle.KAFKA:
        return (
            "Kafka: one topic per command channel, retry round, dead-letter and skipped "
            "channel and event stream, keyed by aggregate id; producers use acks=all." + prefix
        )
    return (
        f"RabbitMQ (AMQP 0-9-1): commands through the durable direct exchange "
        f"`{namespaced(namespace, COMMAND_EXCHANGE)}` into one durable queue per command "
        "channel; one durable topic exchange per event stream; retry, dead-letter and "
        "skipped queues through the default exchange; publisher confirms on." + prefix
    )


def _policy(route: CommandRoute) -> str:
    channel, policy = route.channel, route.channel.retry
    delays = ", ".join(f"{delay:g} s" for delay in policy.delays)
    return (
        f"Failures: {policy.immediate} immediate retries, then delayed redelivery through "
        f"{', '.join(f'`{name}`' for name in channel.retry_channels)} after about {delays} "
        f"(±{policy.jitter:.0%}), then `{channel.dead_letters}`. Undecodable, schema-invalid "
        f"and envelope-invalid messages go straight to `{channel.dead_letters}`, messages no "
        f"handler accepts to `{channel.skipped}`. A business rule violation is answered on "
        "`commerce.rejections` and never retried; a command dead-lettered for a technical "
        "reason, its id, type and tenant readable, is announced on `commerce.faults`."
    )


def _command_channels(
    route: CommandRoute, style: HeaderStyle, namespace: str
) -> Iterator[PlannedChannel]:
    channel, command = route.channel, route.command.__name__
    address = namespaced(namespace, channel.name)
    kafka = style is HeaderStyle.KAFKA
    where = (
        f"Produce to topic `{address}`, keyed by the aggregate id; consumer group "
        f"`{namespaced(namespace, channel.consumer)}` commits after the transaction commits."
        if kafka
        else f"Publish to the direct exchange `{namespaced(namespace, COMMAND_EXCHANGE)}` with "
        f"routing key `{address}`; the durable queue `{address}` is acked after the "
        "transaction commits."
    )
    group = namespaced(namespace, channel.consumer) if kafka else None
    key, message = message_objects.command_message(route, style)
    yield PlannedChannel(
        channel.name,
        address,
        f"{command} commands",
        f"{channel.description}\n\n{where}\n\n{_policy(route)}",
        {key: message},
        ("receive",),
        {"receive": f"{channel.consumer} handles {command} commands"},
        group=group,
    )
    key, message = message_objects.retry_message(route, style)
    for number, name in enumerate(channel.retry_channels, 1):
        held = (
            f"on this topic, which consumer group `{namespaced(namespace, channel.consumer)}` "
            "also consumes; a record whose `x-retry-not-before-ms` lies ahead pauses its "
            "partition until then."
            if kafka
            else "in a durable queue nobody consumes: each message's expiration (per-message "
            f"TTL) dead-letters it back to the queue `{address}` through the default exchange."
        )
        delay = channel.retry.delays[number - 1]
        yield PlannedChannel(
            name,
            namespaced(namespace, name),
            f"{command} retry round {number}",
            f"Delayed redelivery, round {number} of {channel.retry.rounds}, of "
            f"`{channel.consumer}`: commands that failed transiently wait about {delay:g} s "
            f"(±{channel.retry.jitter:.0%}) {held}",
            {key: message},
            ("send",),
            {
                "send": f"Park a transiently failed {command} for round {number}",
                "receive": f"Consume round {number} redeliveries once they are due",
            },
            group=group,
        )
    key, message = message_objects.dead_letter_message(route, style)
    yield PlannedChannel(
        channel.dead_letters,
        namespaced(namespace, channel.dead_letters),
        f"{command} dead letters",
        f"Dead letters of `{channel.consumer}`: messages it cannot process (undecodable, "
        "schema-invalid, without a valid envelope or tenant, or out of retries), the original "
        "body and headers untouched plus `x-fault-*` headers. The command handler never "
        "reads them; operators list, edit and replay them.",
        {key: message},
        ("send",),
        {
            "send": "Dead-letter a message that cannot be processed",
            "receive": "Archive dead letters for the DLQ tooling",
        },
    )
    key, message = message_objects.skipped_message(channel, style)
    yield PlannedChannel(
        channel.skipped,
        namespaced(namespace, channel.skipped),
        f"Skipped by {channel.consumer}",
        f"Messages `{channel.consumer}` has no handler for (an unknown type or version), set "
        "aside untouched with `x-fault-*` headers (reason `no-handler`) instead of blocking "
        "the queue; archived with the dead letters for the DLQ tooling.",
        {key: message},
        ("send",),
        {
            "send": "Set aside a message no handler accepts",
            "receive": "Archive skipped messages for the DLQ tooling",
        },
    )


def _stream_channel(stream: EventStream, style: HeaderStyle, namespace: str) -> PlannedChannel:
    name = namespaced(namespace, stream.name)
    parameters = None
    if style is HeaderStyle.KAFKA:
        address, where = (
            name,
            f"Topic `{name}`, keyed by aggregate id (order holds per aggregate); consume with "
            "your own consumer group.",
        )
    else:
        # The routing key is the aggregate id: the address is a parameter, named after the
        # aggregate (``{userId}``) so that each stream's address reads differently.
        context, _, entity = stream.aggregate_type.rpartition(".")
        key = f"{entity}Id" if context else "aggregateId"
        address, where = (
            f"{{{key}}}",
            f"Durable topic exchange `{name}`, routed by aggregate id (order holds per "
            "aggregate); bind your own durable queue to it (routing key `#` for every aggregate).",
        )
        what = f"the {entity} id" if context else "the aggregate id"
        parameters = {key: {"description": f"The routing key: {what} (= `ce-subject`)."}}
    catalogued = dict(message_objects.event_message(event, style) for event in events_on(stream))
    return PlannedChannel(
        stream.name,
        address,
        stream.name,
        f"{stream.description}\n\n{where} The outbox relay publishes each event after the "
        "transaction that caused it committed, with publisher confirms, at least once: "
        "deduplicate on the CloudEvents `id`.",
        catalogued,
        ("send",),
        {"send": f"Publish {stream.name} events (outbox relay)"},
        parameters,
    )


def planned_channels(style: HeaderStyle, namespace: str) -> Iterator[PlannedChannel]:
    """Every catalogued channel, commands first, in catalogue order."""
    for route in COMMAND_ROUTES:
        yield from _command_channels(route, style, namespace)
    for stream in EVENT_STREAMS:
        yield _stream_channel(stream, style, namespace)
