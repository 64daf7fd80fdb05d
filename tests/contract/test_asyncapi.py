"""The AsyncAPI contract is complete and true: every channel, header and example."""

import re
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from pydantic import SecretStr

from commerce.bootstrap.service import build_service
from commerce.config import BrokerSettings, Settings
from commerce.contract import asyncapi as contract
from commerce.contract.asyncapi import ContractError, contract_document
from commerce.contract.header_objects import FAULT_HEADERS, RETRY_HEADERS, TRANSIENT_REASON
from commerce.entrypoints.cli.actions import ASYNCAPI_SERVERS
from commerce.entrypoints.worker import include_routers
from commerce.identity.messages.channels import REGISTER_USER
from commerce.platform.delivery.faults import fault_headers
from commerce.platform.delivery.redelivery import RETRY_NOT_BEFORE, RETRY_ROUND
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.transport import RawMessage
from commerce.registry.channels import (
    COMMAND_ROUTES,
    CONSUMERS,
    EVENT_CONSUMERS,
    EVENT_STREAMS,
    INTEGRATION_EVENTS,
    CommandRoute,
    events_on,
)
from commerce.registry.channels import COMMANDS_BY_NAME as COMMANDS

pytestmark = pytest.mark.unit

PREFIX = {"rabbitmq": "ce-", "kafka": "ce_"}


def _document(transport: str, namespace: str = "", url: str | None = None) -> dict[str, Any]:
    settings = Settings(
        broker=BrokerSettings(
            url=SecretStr(url or ASYNCAPI_SERVERS[transport]), namespace=namespace
        )
    )
    service = build_service(settings)
    include_routers(service)
    return contract_document(service)


@pytest.fixture(scope="module", params=list(ASYNCAPI_SERVERS))
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def document(transport: str) -> dict[str, Any]:
    return _document(transport)


def _message(document: dict[str, Any], channel: str) -> list[dict[str, Any]]:
    refs = document["channels"][channel]["messages"].values()
    return [document["components"]["messages"][r["$ref"].rsplit("/", 1)[-1]] for r in refs]


def _actions(document: dict[str, Any], channel: str) -> set[str]:
    return {
        op["action"]
        for op in document["operations"].values()
        if op["channel"]["$ref"] == f"#/channels/{channel}"
    }


def test_the_catalogue_holds_every_command_channel_and_event() -> None:
    assert set(COMMANDS.values()) == set(_subclasses(Command))
    assert set(INTEGRATION_EVENTS) == set(_subclasses(IntegrationEvent))
    assert {event.stream for event in INTEGRATION_EVENTS} == set(EVENT_STREAMS)


def _subclasses(base: type[Any]) -> list[type[Any]]:
    return [sub for direct in base.__subclasses__() for sub in (direct, *_subclasses(direct))]


def test_every_command_channel_and_its_failure_channels_are_described(
    document: dict[str, Any],
) -> None:
    for route in COMMAND_ROUTES:
        channel = route.channel
        assert _actions(document, channel.name) == {"receive"}
        for name in (*channel.retry_channels, channel.dead_letters, channel.skipped):
            assert "send" in _actions(document, name), name
        assert _actions(document, channel.dead_letters) == {"send", "receive"}, "DLQ archiver"
        for name in (channel.name, *channel.retry_channels, channel.dead_letters):
            [message] = _message(document, name)
            assert message["payload"] == {"$ref": f"#/components/schemas/{route.command.__name__}"}


def test_retry_channels_are_exactly_the_declared_ones(document: dict[str, Any]) -> None:
    declared: list[str] = []
    for consumer in CONSUMERS:
        assert consumer.retry_channels == tuple(
            f"{consumer.consumer}.retry.{n}" for n in range(1, consumer.retry.rounds + 1)
        )
        declared += consumer.retry_channels
    found = [name for name in document["channels"] if ".retry." in name]
    assert found == declared


def test_every_event_stream_is_sent_with_its_event_types(document: dict[str, Any]) -> None:
    read_on_kafka = {consumer.stream.name for consumer in EVENT_CONSUMERS}
    for stream in EVENT_STREAMS:
        # On Kafka an ordered consumer's group reads the stream's own topic.
        assert _actions(document, stream.name) - {"receive"} == {"send"}
        if "receive" in _actions(document, stream.name):
            assert stream.name in read_on_kafka
        names = {message["name"] for message in _message(document, stream.name)}
        assert names == {event.message_type for event in events_on(stream)}


def test_every_channel_has_a_description_and_complete_messages(
    document: dict[str, Any], transport: str
) -> None:
    for name, channel in document["channels"].items():
        assert channel["description"], name
        assert channel["servers"] == [{"$ref": "#/servers/development"}]
        for message in _message(document, name):
            assert message["description"], name
            assert message["payload"], name
            assert message["examples"], f"{name}: {message['name']} has no example"
            properties = message["headers"]["properties"]
            assert f"{PREFIX[transport]}tenantid" in properties
            assert {"traceparent", "tracestate"} <= set(properties)
            for example in message["examples"]:
                _conforms(example["headers"], message["headers"])
    for operation in document["operations"].values():
        assert operation["action"] in {"send", "receive"}


_FORMATS = {
    "uuid": UUID,
    "date-time": lambda text: datetime.fromisoformat(text.replace("Z", "+00:00")),
}


def _conforms(headers: dict[str, str], schema: dict[str, Any]) -> None:
    """Just enough JSON Schema for header examples: required, const, pattern, format."""
    assert set(schema["required"]) <= set(headers), set(schema["required"]) - set(headers)
    for name, value in headers.items():
        rule = schema["properties"].get(name, {})
        assert isinstance(value, str), name
        if "const" in rule:
            assert value == rule["const"], name
        if "pattern" in rule:
            assert re.search(rule["pattern"], value), name
        if "format" in rule and rule["format"] in _FORMATS:
            _FORMATS[rule["format"]](value)


def test_the_headers_follow_the_transport_binding(document: dict[str, Any], transport: str) -> None:
    [command] = _message(document, REGISTER_USER.name)
    properties = command["headers"]["properties"]
    attributes = ("specversion", "id", "source", "type", "time", "subject", "tenantid")
    assert {f"{PREFIX[transport]}{name}" for name in attributes} <= set(properties)
    assert properties[f"{PREFIX[transport]}type"]["const"] == "commerce.identity.RegisterUser.v1"
    assert (
        command["correlationId"]["location"] == f"$message.header#/{PREFIX[transport]}correlationid"
    )
    assert ("content-type" in properties) is (transport == "kafka")


def test_the_fault_and_retry_headers_are_the_ones_the_failure_policy_writes() -> None:
    original = RawMessage("c", "k", b"{}", {}, "application/json")
    written = fault_headers(
        ConnectionRefusedError("Connection refused"),
        consumer="c",
        channel="c",
        original=original,
        now=datetime.now(UTC),
    )
    assert set(written) == set(FAULT_HEADERS)
    assert set(RETRY_HEADERS) == {RETRY_ROUND, RETRY_NOT_BEFORE}
    assert written["x-fault-reason"] == TRANSIENT_REASON, "update the retry example's reason"
    exhausted = fault_headers(
        ValueError(),
        consumer="c",
        channel="c",
        original=original,
        now=datetime.now(UTC),
        exhausted=True,
    )
    assert exhausted["x-fault-reason"] in FAULT_HEADERS["x-fault-reason"]["description"]


def test_dead_letters_carry_fault_headers_and_need_no_valid_envelope(
    document: dict[str, Any],
) -> None:
    [letter] = _message(document, REGISTER_USER.dead_letters)
    assert set(letter["headers"]["required"]) == set(FAULT_HEADERS)
    [retry] = _message(document, REGISTER_USER.retry_channels[0])
    assert set(FAULT_HEADERS) | set(RETRY_HEADERS) <= set(retry["headers"]["required"])


def test_a_namespaced_worker_documents_its_real_addresses_under_the_same_names() -> None:
    document = _document("kafka", namespace="staging")
    channel = document["channels"][REGISTER_USER.name]
    assert channel["address"] == f"staging.{REGISTER_USER.name}"
    receive = document["operations"][f"{REGISTER_USER.name}.receive"]
    assert receive["bindings"]["kafka"]["groupId"]["enum"] == [f"staging.{REGISTER_USER.name}"]


def test_the_broker_password_never_reaches_the_document() -> None:
    document = _document("rabbitmq", url="amqp://app:pa55word@broker.internal:5672/prod")
    assert "pa55word" not in repr(document)
    assert document["servers"]["development"]["host"] == "broker.internal:5672"


def test_the_output_is_deterministic(transport: str, document: dict[str, Any]) -> None:
    assert contract.to_json(_document(transport)) == contract.to_json(document)


def test_a_handler_disagreeing_with_the_catalogue_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Other(Command):
        """Not what the handler takes."""

    monkeypatch.setattr(contract, "COMMAND_ROUTES", (CommandRoute(REGISTER_USER, Other),))
    with pytest.raises(ContractError, match="the handler takes RegisterUser"):
        _document("rabbitmq")
