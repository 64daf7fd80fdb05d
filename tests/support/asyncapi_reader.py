"""A downstream consumer's view of the committed AsyncAPI documents, and nothing else.

Tests that play a consumer written from the contract find a message's channel, address and
schemas here, and check what they receive against the document's headers and payload
schemas (the subset of JSON Schema the documents use: ``$ref``, ``anyOf``, ``type``,
``required``, ``properties``, ``const``, ``enum``, ``pattern``, ``format``, ``maxLength``,
``minimum``).
"""

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import yaml

__all__ = ["DOCUMENTS", "DocumentedMessage", "documented_message", "violations"]

DOCUMENTS = Path(__file__).resolve().parents[2] / "asyncapi"
"""The committed AsyncAPI documents (``rabbitmq.yaml``, ``kafka.yaml``)."""

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "null": (type(None),),
    "object": (dict,),
    "array": (list,),
}


def _formatted(value: str, kind: str) -> bool:
    try:
        if kind == "uuid":
            UUID(value)
        elif kind == "date-time":
            return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None
    except ValueError:
        return False
    return True


def _of_type(value: Any, kind: str) -> bool:
    if isinstance(value, bool) and kind in ("integer", "number"):
        return False
    return isinstance(value, _TYPES[kind])


def violations(
    value: Any, schema: dict[str, Any], schemas: dict[str, Any], at: str = ""
) -> list[str]:
    """Where ``value`` breaks ``schema`` (``$ref`` resolved in ``schemas``); empty if nowhere."""
    if "$ref" in schema:
        return violations(value, schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas, at)
    if "anyOf" in schema:
        options = [violations(value, option, schemas, at) for option in schema["anyOf"]]
        return [] if any(not found for found in options) else [f"{at}: matches no anyOf option"]
    found: list[str] = []
    if "type" in schema and not _of_type(value, schema["type"]):
        return [f"{at}: {value!r} is not of type {schema['type']}"]
    if "const" in schema and value != schema["const"]:
        found.append(f"{at}: {value!r} is not {schema['const']!r}")
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{at}: {value!r} is not one of {schema['enum']}")
    if isinstance(value, str):
        if "pattern" in schema and not re.search(schema["pattern"], value):
            found.append(f"{at}: {value!r} does not match {schema['pattern']}")
        if "format" in schema and not _formatted(value, schema["format"]):
            found.append(f"{at}: {value!r} is not a {schema['format']}")
        if len(value) > schema.get("maxLength", len(value)):
            found.append(f"{at}: longer than {schema['maxLength']}")
    if isinstance(value, int | float) and value < schema.get("minimum", value):
        found.append(f"{at}: below {schema['minimum']}")
    if isinstance(value, dict):
        required = schema.get("required", ())
        found += [f"{at}/{name}: missing" for name in required if name not in value]
        for name, rule in schema.get("properties", {}).items():
            if name in value:
                found += violations(value[name], rule, schemas, f"{at}/{name}")
    return found


@dataclass(frozen=True)
class DocumentedMessage:
    """One message type as a document describes it, and the stream channel carrying it."""

    name: str
    headers: dict[str, Any]
    payload: dict[str, Any]
    schemas: dict[str, Any]
    channel: dict[str, Any]

    def rabbit_exchange(self) -> dict[str, Any]:
        """The channel's AMQP exchange (name, type, durable, autoDelete)."""
        exchange: dict[str, Any] = self.channel["bindings"]["amqp"]["exchange"]
        return exchange

    def kafka_topic(self) -> str:
        """The channel's Kafka topic."""
        return str(self.channel["bindings"]["kafka"]["topic"])

    def header_violations(self, headers: dict[str, str]) -> list[str]:
        """Where received ``headers`` break the message's headers schema."""
        return violations(headers, self.headers, self.schemas, "headers")

    def payload_violations(self, payload: Any) -> list[str]:
        """Where a received payload breaks the message's payload schema."""
        return violations(payload, self.payload, self.schemas, "payload")


def documented_message(document_name: str, message_name: str) -> DocumentedMessage:
    """``message_name`` (a CloudEvents type) as ``asyncapi/<document_name>`` documents it,
    with the one channel the service sends it on."""
    document: dict[str, Any] = yaml.safe_load((DOCUMENTS / document_name).read_text())
    [(key, message)] = [
        (key, message)
        for key, message in document["components"]["messages"].items()
        if message["name"] == message_name
    ]
    sent_on = {
        operation["channel"]["$ref"].rsplit("/", 1)[-1]
        for operation in document["operations"].values()
        if operation["action"] == "send"
    }
    [channel] = [
        channel
        for name, channel in document["channels"].items()
        if name in sent_on
        and f"#/components/messages/{key}" in {m["$ref"] for m in channel["messages"].values()}
    ]
    return DocumentedMessage(
        message_name,
        message["headers"],
        message["payload"],
        document["components"]["schemas"],
        channel,
    )
