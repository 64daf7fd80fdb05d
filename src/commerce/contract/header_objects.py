"""The headers of the contract's messages: CloudEvents binary mode plus the failure policy's.

``ce-`` attributes on RabbitMQ, ``ce_`` on Kafka (with ``content-type``), W3C trace context,
and the ``x-fault-*`` / ``x-retry-*`` headers that retry, dead-letter and skipped messages
add (their names are unit-tested against the failure policy that writes them).
"""

from collections.abc import Iterable
from typing import Any

from commerce.bootstrap.wiring import SOURCE
from commerce.platform.messaging.channels import Consumer
from commerce.platform.messaging.envelope import CONTENT_TYPE, SPEC_VERSION, HeaderStyle

__all__ = [
    "COMMAND_ID",
    "COMMAND_REQUIRED",
    "EVENT_REQUIRED",
    "FAULT_HEADERS",
    "RETRY_HEADERS",
    "TRANSIENT_REASON",
    "example_headers",
    "fault_example",
    "headers_schema",
]

type Json = dict[str, Any]

_UUID: Json = {"type": "string", "format": "uuid"}
_ATTRIBUTES: dict[str, tuple[Json, str]] = {
    "specversion": (
        {"type": "string", "const": SPEC_VERSION},
        "CloudEvents specification version.",
    ),
    "id": (_UUID, "Message id, a UUIDv7; consumers deduplicate on it (inbox)."),
    "source": (
        {"type": "string", "format": "uri-reference"},
        f"Who sent the message, a URI reference (`{SOURCE}` for this service).",
    ),
    "type": ({"type": "string"}, "The versioned message type."),
    "time": ({"type": "string", "format": "date-time"}, "When the message was created (RFC 3339)."),
    "subject": ({"type": "string"}, "The aggregate id: also the message key / routing key."),
    "tenantid": (_UUID, "The tenant; a message without a valid tenant is dead-lettered."),
    "correlationid": (_UUID, "The conversation: id of the command that started it (default: id)."),
    "causationid": (_UUID, "Id of the message that caused this one."),
    "aggregateversion": (
        {"type": "string", "pattern": "^[1-9][0-9]*$"},
        "Events: the version of the aggregate this event produced (1, 2, ...); consumers "
        "of one aggregate see them in this order.",
    ),
}
_TRACE: dict[str, Json] = {
    "traceparent": {
        "type": "string",
        "pattern": "^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$",
        "description": "W3C trace context: the trace this message belongs to.",
    },
    "tracestate": {"type": "string", "description": "W3C trace context: vendor trace state."},
}
_CONTENT_TYPE: Json = {
    "type": "string",
    "const": CONTENT_TYPE,
    "description": "CloudEvents `datacontenttype` (Kafka binding: the `content-type` header).",
}
FAULT_HEADERS: dict[str, Json] = {
    "x-fault-reason": {
        "type": "string",
        "description": "Why: retries-exhausted, missing-tenant, invalid-envelope, undecodable, "
        "schema-invalid, no-handler, or handler-error (a failure of the handler itself: "
        "transient while retries remain, or declared permanent).",
    },
    "x-fault-exception-type": {"type": "string", "description": "Qualified exception class."},
    "x-fault-message": {"type": "string", "description": "Exception message (<= 1000 chars)."},
    "x-fault-stack": {"type": "string", "description": "Traceback tail (<= 4000 chars)."},
    "x-fault-consumer": {"type": "string", "description": "The consumer that gave up."},
    "x-fault-channel": {"type": "string", "description": "The channel the message came from."},
    "x-fault-attempts": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Handler runs so far, over every delivery.",
    },
    "x-fault-first-failure-at": {"type": "string", "format": "date-time"},
    "x-fault-last-failure-at": {"type": "string", "format": "date-time"},
}
"""Headers describing a failure (``commerce.platform.delivery.faults.fault_headers``)."""
RETRY_HEADERS: dict[str, Json] = {
    "x-retry-round": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Delayed redelivery round the message is in (1-based).",
    },
    "x-retry-not-before-ms": {
        "type": "string",
        "pattern": "^[0-9]+$",
        "description": "Unix time (ms) before which the message must not be handled.",
    },
}
"""Headers of a message waiting for delayed redelivery (``platform.delivery.redelivery``)."""
TRANSIENT_REASON = "handler-error"
"""The ``x-fault-reason`` ``fault_headers`` gives a transient failure today (unit-tested)."""

COMMAND_REQUIRED = ("specversion", "id", "source", "type", "tenantid")
EVENT_REQUIRED = (*COMMAND_REQUIRED, "time", "subject", "correlationid", "causationid")
COMMAND_ID = "01946a3b-6e12-7c4d-9a3e-5f1b2c3d4e5f"
_EVENT_ID = "01946a3b-6f80-7a21-8b44-0c1d2e3f4a5b"
_TENANT_ID = "5b0e3c1a-7f0e-4d8e-9c1e-2a9e0f6c3d41"
_TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
_SENT_AT = "2025-01-15T09:30:00.000000Z"
_FAILED_AT = "2025-01-15T09:30:01.250000+00:00"


def headers_schema(
    style: HeaderStyle,
    message_type: str | None,
    *,
    required: Iterable[str],
    extra: dict[str, Json] | None = None,
    extra_required: Iterable[str] = (),
    content_type: bool = False,
) -> Json:
    """The binary-mode headers of a message as a JSON schema (``type`` pinned if given).

    ``required`` names CloudEvents attributes; ``content_type``: Kafka's ``content-type``
    header is required too (it always travels with events).
    """
    properties: Json = {}
    for name, (schema, description) in _ATTRIBUTES.items():
        prop = {**schema, "description": description}
        if name == "type" and message_type is not None:
            prop["const"] = message_type
        properties[f"{style}{name}"] = prop
    if style is HeaderStyle.KAFKA:
        properties["content-type"] = _CONTENT_TYPE
    properties |= _TRACE | (extra or {})
    names = [f"{style}{name}" for name in required]
    if style is HeaderStyle.KAFKA and content_type:
        names.append("content-type")
    return {"type": "object", "properties": properties, "required": [*names, *extra_required]}


def example_headers(
    style: HeaderStyle, message_type: str, subject: str, *, event: bool
) -> dict[str, str]:
    """Example CloudEvents headers: a command from a shop, or an event it caused."""
    attributes = {
        "specversion": SPEC_VERSION,
        "id": _EVENT_ID if event else COMMAND_ID,
        "source": SOURCE if event else "/shop/signup",
        "type": message_type,
        "time": _SENT_AT,
        "subject": subject,
        "tenantid": _TENANT_ID,
        "correlationid": COMMAND_ID,
    }
    if event:
        attributes["causationid"] = COMMAND_ID
    headers = {f"{style}{name}": value for name, value in attributes.items()}
    if style is HeaderStyle.KAFKA:
        headers["content-type"] = CONTENT_TYPE
    return headers | {"traceparent": _TRACEPARENT}


def fault_example(channel: Consumer, reason: str, error: str, attempts: int) -> Json:
    """Example ``x-fault-*`` headers for ``error`` (``"module.Class: message"``)."""
    exception_type, _, message = error.partition(": ")
    return {
        "x-fault-reason": reason,
        "x-fault-exception-type": exception_type,
        "x-fault-message": message,
        "x-fault-stack": f"Traceback (most recent call last):\n  ...\n{error}\n",
        "x-fault-consumer": channel.consumer,
        "x-fault-channel": channel.name,
        "x-fault-attempts": str(attempts),
        "x-fault-first-failure-at": _FAILED_AT,
        "x-fault-last-failure-at": _FAILED_AT,
    }
