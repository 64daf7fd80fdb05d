"""The published contract: the worker's AsyncAPI 3.0 document on its transport.

FastStream generates the skeleton from the code: the server (from the broker URL), a
channel and a ``receive`` operation per subscriber with its AMQP or Kafka bindings and the
payload schema of the handler's signature, and a channel and a ``send`` operation per
publisher object. The publishers are declared here, on a specification-only broker that
is never connected (the relay and the failure policy publish through the transport
port): one per event stream and per consumer's retry, dead-letter and skipped channel.

:func:`contract_document` then completes what FastStream cannot say (ADR 0007): channels
and operations named after our channel names whatever the namespace, one message per
CloudEvents type with the binary-mode headers, examples and descriptions
(:mod:`commerce.contract.message_objects`), the RabbitMQ routing-key parameter of
event streams, and the server named after the environment. Channels it does not know
are kept as FastStream generated them. The output is deterministic: the committed
documents are compared with it (``commerce asyncapi export --check``).
"""

import json
import warnings
from collections.abc import Iterator
from importlib.metadata import version
from typing import Any

import yaml
from faststream.kafka import KafkaBroker
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.specification import AsyncAPI

from commerce.bootstrap.service import Service
from commerce.contract import channel_objects as plan
from commerce.contract.consumer_objects import consumer_channels
from commerce.contract.query_objects import QUERY_MODELS, query_channels
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.registry.channels import COMMAND_ROUTES, INTEGRATION_EVENTS

__all__ = ["ContractError", "asyncapi_factory", "contract_document", "to_json", "to_yaml"]

type Json = dict[str, Any]

_DESCRIPTION = (
    "Commands in, integration events out: the published contract of the commerce service.\n\n"
    "Every message is a CloudEvents 1.0 message in binary mode: the attributes travel as "
    "headers (`ce-` prefix on RabbitMQ, whose AMQP `content_type` property carries "
    "`datacontenttype`; `ce_` prefix plus `content-type` on Kafka), the body is the JSON "
    "payload only. Commands go point-to-point to one channel per command type; events "
    "are published on one stream per aggregate type, keyed by aggregate id. Each consumer "
    "has delayed-redelivery channels `<consumer>.retry.<n>`, a dead-letter channel "
    "`<consumer>.dlq` and a `<consumer>.skipped` channel."
)
_SEND = ":send"


class ContractError(RuntimeError):
    """The code disagrees with the message catalogue, or FastStream dropped a channel."""


def _specification_broker(service: Service) -> RabbitBroker | KafkaBroker:
    """A never-connected broker holding the publishers FastStream documents."""
    settings = service.settings.broker
    ns = settings.namespace
    sends = list(plan.published_channels())
    if isinstance(service.transport.broker, KafkaBroker):
        kafka = KafkaBroker(settings.kafka_bootstrap)
        for name, description, schema, _ in sends:
            kafka.publisher(
                plan.namespaced(ns, name),
                title=name + _SEND,
                description=description,
                schema=schema,
            )
        return kafka
    rabbit = RabbitBroker(settings.url.get_secret_value())
    for name, description, schema, stream in sends:
        target = plan.namespaced(ns, name)
        if stream:
            exchange = RabbitExchange(target, type=ExchangeType.TOPIC, durable=True)
            rabbit.publisher(
                exchange=exchange,
                title=name + _SEND,
                description=description,
                schema=schema,
                persist=True,
            )
        else:
            rabbit.publisher(
                RabbitQueue(target, durable=True),
                title=name + _SEND,
                description=description,
                schema=schema,
                persist=True,
            )
    return rabbit


def asyncapi_factory(service: Service) -> AsyncAPI:
    """FastStream's view: the service's broker and the contract's publishers."""
    return AsyncAPI(
        service.transport.broker,
        _specification_broker(service),
        title="commerce",
        version=version("commerce"),
        description=_DESCRIPTION,
        license={"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"},
        schema_version="3.0.0",
    )


def _pointer(document: Json, ref: str) -> Json:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    assert isinstance(node, dict)
    return node


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def _generated(service: Service) -> Json:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        raw: Json = asyncapi_factory(service).to_specification().to_jsonable()
    if lost := [str(w.message) for w in caught if "Overwrit" in str(w.message)]:
        raise ContractError("FastStream overwrote part of the document: " + "; ".join(lost))
    return raw


class _Generated:
    """FastStream's document, its channels and operations indexed by our channel names.

    FastStream's own order is not stable between runs, so every lookup here is ordered.
    """

    def __init__(self, raw: Json, namespace: str) -> None:
        self.raw = raw
        prefix = f"{namespace}." if namespace else ""
        channels: Json = raw.get("channels", {})
        self.names = {
            key: str(channel["address"]).removeprefix(prefix)
            if channel.get("address")
            else key.removesuffix(_SEND)
            for key, channel in sorted(channels.items())
        }
        self.actions: dict[str, str] = {}
        self.operations: dict[tuple[str, str], Json] = {}
        for _, operation in sorted(raw.get("operations", {}).items()):
            key = str(operation["channel"]["$ref"]).rsplit("/", 1)[-1]
            self.actions.setdefault(key, operation["action"])
            self.operations.setdefault((self.names[key], operation["action"]), operation)

    def bindings(self, name: str) -> Json | None:
        """A channel's bindings, a subscriber's (``is: queue`` on RabbitMQ) before a publisher's."""
        candidates = sorted(
            (self.actions.get(key) != "receive", key)
            for key, logical in self.names.items()
            if logical == name and "bindings" in self.raw["channels"][key]
        )
        return self.raw["channels"][candidates[0][1]]["bindings"] if candidates else None

    def payload_name(self, operation: Json) -> str | None:
        """The component schema an operation's (first) message carries."""
        for reference in operation.get("messages", []):
            message = _pointer(self.raw, _pointer(self.raw, reference["$ref"])["$ref"])
            if "$ref" in (payload := message.get("payload", {})):
                return str(payload["$ref"]).rsplit("/", 1)[-1]
        return None

    def check_handlers(self) -> None:
        """Every catalogued command channel has a subscriber taking the catalogued model."""
        for route in COMMAND_ROUTES:
            operation = self.operations.get((route.channel.name, "receive"))
            if operation is None:
                msg = f"no subscriber consumes {route.channel.name} ({route.command.__name__})"
                raise ContractError(msg)
            taken = self.payload_name(operation)
            if taken != route.command.__name__:
                msg = f"{route.channel.name}: the handler takes {taken}, the catalogue says "
                raise ContractError(msg + route.command.__name__)

    def unknown(self, known: set[str], server_ref: str) -> tuple[Json, Json, Json]:
        """Channels, operations and messages the catalogue does not describe, kept as is."""
        channels: Json = {}
        operations: Json = {}
        messages: Json = {}
        for key, name in self.names.items():
            if name in known:
                continue
            channel = self.raw["channels"][key]
            channels[key] = channel | {"servers": [{"$ref": server_ref}]}
            for reference in _refs(channel.get("messages", {})):
                messages[reference.rsplit("/", 1)[-1]] = _pointer(self.raw, reference)
            for op_key, operation in sorted(self.raw.get("operations", {}).items()):
                if str(operation["channel"]["$ref"]) == f"#/channels/{key}":
                    operations[op_key] = operation
        return channels, operations, messages


def _schemas(raw: Json, document: Json) -> Json:
    """FastStream's payload schemas, the catalogue's filled in, unreferenced ones dropped."""
    schemas: Json = dict(raw.get("components", {}).get("schemas", {}))
    models = (*(route.command for route in COMMAND_ROUTES), *INTEGRATION_EVENTS, *QUERY_MODELS)
    for model in models:
        if model.__name__ not in schemas:
            schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas |= schema.pop("$defs", {}) | {model.__name__: schema}
    wanted = {ref.rsplit("/", 1)[-1] for ref in _refs(document) if "/schemas/" in ref}
    while extra := {r.rsplit("/", 1)[-1] for n in wanted for r in _refs(schemas.get(n))} - wanted:
        wanted |= extra
    order = [model.__name__ for model in models] + sorted(
        set(schemas) - {m.__name__ for m in models}
    )
    return {name: schemas[name] for name in order if name in wanted}


def contract_document(service: Service) -> Json:
    """The complete AsyncAPI 3.0 document of ``service``'s worker on its transport."""
    settings = service.settings
    style = service.transport.style
    namespace = settings.broker.namespace
    generated = _Generated(_generated(service), namespace)
    generated.check_handlers()
    servers, server_ref = _servers(generated.raw, settings.environment, style, namespace)
    channels: Json = {}
    operations: Json = {}
    messages: Json = {}
    planned_channels = [
        *plan.planned_channels(style, namespace),
        *consumer_channels(style, namespace, settings.broker.partitions),
        *query_channels(style, namespace),
    ]
    for planned in planned_channels:
        channels[planned.name] = planned.channel(server_ref, generated.bindings(planned.name))
        messages |= planned.messages
        for action in ("receive", "send"):
            found = generated.operations.get((planned.name, action))
            if action in planned.actions or found is not None:
                operation = planned.operation(action, (found or {}).get("bindings"))
                operations[f"{planned.name}.{action}"] = operation
    covered = {name for planned in planned_channels for name in planned.covers}
    more_channels, more_operations, more_messages = generated.unknown(
        set(channels) | covered, server_ref
    )
    document: Json = {
        "asyncapi": "3.0.0",
        "info": generated.raw["info"],
        "defaultContentType": generated.raw.get("defaultContentType", "application/json"),
        "servers": servers,
        "channels": channels | more_channels,
        "operations": operations | more_operations,
        "components": {"messages": messages | more_messages},
    }
    document["components"]["schemas"] = _schemas(generated.raw, document)
    copied: Json = json.loads(json.dumps(document))  # no shared parts (no YAML aliases)
    return copied


def _servers(raw: Json, environment: str, style: HeaderStyle, namespace: str) -> tuple[Json, str]:
    servers: Json = raw.get("servers", {})
    if len(servers) != 1:
        msg = f"expected one broker server, FastStream generated {sorted(servers)}"
        raise ContractError(msg)
    (server,) = servers.values()
    return (
        {environment: server | {"description": plan.server_description(style, namespace)}},
        f"#/servers/{environment}",
    )


def to_yaml(document: Json) -> str:
    """The document as YAML (deterministic: insertion order, fixed width)."""
    text: str = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
    return text


def to_json(document: Json) -> str:
    """The document as indented JSON with a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
