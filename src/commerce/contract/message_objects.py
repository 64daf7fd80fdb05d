"""AsyncAPI message objects of the contract: one per CloudEvents type and channel role.

Commands, their retry and dead-letter forms, skipped messages and integration events, each
with its binary-mode headers as the ``headers`` schema (:mod:`.header_objects`), the
payload schema, a description and examples built from the payload models' own examples.
"""

from typing import Any

from commerce.contract.header_objects import (
    COMMAND_ID,
    COMMAND_REQUIRED,
    EVENT_REQUIRED,
    FAULT_HEADERS,
    RETRY_HEADERS,
    TRANSIENT_REASON,
    example_headers,
    fault_example,
    headers_schema,
)
from commerce.platform.messaging.channels import Consumer
from commerce.platform.messaging.envelope import CONTENT_TYPE, HeaderStyle
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.registry.channels import CommandRoute

__all__ = [
    "UNHANDLED_SCHEMA",
    "command_message",
    "dead_letter_message",
    "event_message",
    "retry_message",
    "skipped_message",
]

type Json = dict[str, Any]

UNHANDLED_SCHEMA: Json = {
    "title": "UnhandledMessage",
    "description": "The original body, untouched: a message of a type or version no handler "
    "of the consumer accepts (usually JSON).",
}


def _examples(model: type[Any]) -> list[Json]:
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples", []) if isinstance(extra, dict) else []
    if not examples:
        msg = f"{model.__name__} has no examples (model_config json_schema_extra)"
        raise ValueError(msg)
    for example in examples:
        model.model_validate(example)  # an example must be a valid payload
    return [dict(example) for example in examples]


def _summary(model: type[Any]) -> str:
    return (model.__doc__ or model.__name__).strip().splitlines()[0]


def _message(
    name: str, *, title: str, summary: str, description: str, schema: str | None, style: HeaderStyle
) -> Json:
    message: Json = {
        "name": name,
        "title": title,
        "summary": summary,
        "description": description,
        "contentType": CONTENT_TYPE,
        "correlationId": {
            "description": "The conversation this message belongs to.",
            "location": f"$message.header#/{style}correlationid",
        },
        "headers": {},
        "payload": {"$ref": f"#/components/schemas/{schema}"} if schema else UNHANDLED_SCHEMA,
    }
    if style is HeaderStyle.KAFKA:
        message["bindings"] = {
            "kafka": {
                "key": {"type": "string", "description": "The aggregate id (= ce_subject)."},
                "bindingVersion": "0.4.0",
            }
        }
    return message


def command_message(route: CommandRoute, style: HeaderStyle) -> tuple[str, Json]:
    """The command as its sender publishes it."""
    command, kind = route.command, route.command.message_type
    message = _message(
        kind,
        title=f"{command.__name__} (command)",
        summary=_summary(command),
        description=f"{command.__doc__}\n\nCloudEvents type `{kind}`, sent to "
        f"`{route.channel.name}`.",
        schema=command.__name__,
        style=style,
    )
    message["headers"] = headers_schema(style, kind, required=COMMAND_REQUIRED)
    message["examples"] = [
        {
            "name": f"{command.__name__}-{n}",
            "summary": _summary(command),
            "headers": example_headers(
                style, kind, command.model_validate(payload).aggregate_key(), event=False
            ),
            "payload": payload,
        }
        for n, payload in enumerate(_examples(command), 1)
    ]
    return kind, message


def retry_message(route: CommandRoute, style: HeaderStyle) -> tuple[str, Json]:
    """The command waiting for a delayed redelivery: original body and headers, plus why."""
    key, message = command_message(route, style)
    channel = route.channel
    message |= {
        "name": f"{key}.retry",
        "title": f"{route.command.__name__} (delayed redelivery)",
        "summary": "A command that failed transiently, waiting to be redelivered.",
        "description": "The original body and headers, untouched, plus `x-fault-*` (the last "
        "failure) and `x-retry-*` (which round, and not before when).",
        "headers": headers_schema(
            style,
            route.command.message_type,
            required=COMMAND_REQUIRED,
            extra=FAULT_HEADERS | RETRY_HEADERS,
            extra_required=[*FAULT_HEADERS, *RETRY_HEADERS],
        ),
    }
    attempts = channel.retry.immediate + 1
    for example in message["examples"]:
        example["name"] = f"{example['name']}-retry"
        example["summary"] = "Round 1, after the database refused connections."
        example["headers"] |= fault_example(
            channel,
            TRANSIENT_REASON,
            "builtins.ConnectionRefusedError: Connection refused",
            attempts,
        ) | {"x-retry-round": "1", "x-retry-not-before-ms": "1736933402250"}
    return f"{key}.retry", message


def dead_letter_message(route: CommandRoute, style: HeaderStyle) -> tuple[str, Json]:
    """The command parked in its consumer's DLQ: original body and headers, plus why."""
    key, message = command_message(route, style)
    channel = route.channel
    message |= {
        "name": f"{key}.dead-letter",
        "title": f"{route.command.__name__} (dead letter)",
        "summary": "A command its consumer could not process.",
        "description": "The original body and headers, untouched (they may be what is wrong: "
        "an undecodable body, a payload failing the schema, a missing tenant), plus the "
        "`x-fault-*` headers saying why. DLQ tooling lists, edits and replays them.",
        "headers": headers_schema(
            style,
            None,
            required=(),
            extra=FAULT_HEADERS | RETRY_HEADERS,
            extra_required=list(FAULT_HEADERS),
        ),
    }
    attempts = (channel.retry.immediate + 1) * (channel.retry.rounds + 1)
    for example in message["examples"]:
        example["name"] = f"{example['name']}-dead-letter"
        example["summary"] = "Retries ran out while the database refused connections."
        example["headers"] |= fault_example(
            channel,
            "retries-exhausted",
            "builtins.ConnectionRefusedError: Connection refused",
            attempts,
        ) | {"x-retry-round": str(channel.retry.rounds)}
    return f"{key}.dead-letter", message


def skipped_message(channel: Consumer, style: HeaderStyle) -> tuple[str, Json]:
    """A message no handler of the consumer accepts, set aside untouched."""
    key = f"{channel.consumer}.skipped"
    message = _message(
        key,
        title=f"Skipped by {channel.consumer}",
        summary="A message of a type no handler of this consumer accepts.",
        description="The original body and headers, untouched, plus `x-fault-*` (reason "
        "`no-handler`).",
        schema=None,
        style=style,
    )
    message["headers"] = headers_schema(
        style, None, required=(), extra=FAULT_HEADERS, extra_required=list(FAULT_HEADERS)
    )
    message["examples"] = [
        {
            "name": "unknown-version",
            "summary": "A newer command version than this consumer knows.",
            "headers": example_headers(
                style, "commerce.identity.RegisterUser.v9", COMMAND_ID, event=False
            )
            | fault_example(
                channel,
                "no-handler",
                "faststream.exceptions.SubscriberNotFound: no handler accepts the message",
                1,
            ),
            "payload": {"user_id": "0f8fad5b-d9cb-469f-a165-70867728950e"},
        }
    ]
    return key, message


def _event_subject(event: type[IntegrationEvent], payload: Json) -> str:
    entity = event.stream.aggregate_type.rsplit(".", 1)[-1]
    for name in ("aggregate_id", f"{entity}_id"):
        if name in payload:
            return str(payload[name])
    msg = f"{event.__name__}: no aggregate id in its example to use as ce-subject"
    raise ValueError(msg)


def event_message(event: type[IntegrationEvent], style: HeaderStyle) -> tuple[str, Json]:
    """An integration event as the outbox relay publishes it."""
    kind = event.message_type
    message = _message(
        kind,
        title=f"{event.__name__} (event)",
        summary=_summary(event),
        description=f"{event.__doc__}\n\nCloudEvents type `{kind}`, published on "
        f"`{event.stream.name}` by the outbox relay, caused by the command in `causationid`.",
        schema=event.__name__,
        style=style,
    )
    message["headers"] = headers_schema(style, kind, required=EVENT_REQUIRED, content_type=True)
    message["examples"] = [
        {
            "name": f"{event.__name__}-{n}",
            "summary": _summary(event),
            "headers": example_headers(style, kind, _event_subject(event, payload), event=True),
            "payload": payload,
        }
        for n, payload in enumerate(_examples(event), 1)
    ]
    return kind, message
