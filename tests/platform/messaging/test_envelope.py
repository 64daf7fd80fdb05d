"""The CloudEvents envelope: binary-mode headers per transport, strict parsing."""

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from commerce.platform.messaging.envelope import (
    Envelope,
    EnvelopeError,
    HeaderStyle,
    MissingTenantError,
    parse_envelope,
)

pytestmark = pytest.mark.unit

TENANT = UUID("0b9f8a52-95a5-4a69-8d52-5f7f3f3ef0a1")


def _envelope() -> Envelope:
    return Envelope.new(
        type="commerce.identity.RegisterUser.v1", source="/tests", tenant_id=TENANT, subject="u1"
    )


def test_rabbit_headers_use_the_ce_dash_prefix_and_leave_content_type_to_amqp() -> None:
    headers = _envelope().headers(HeaderStyle.RABBIT)
    assert headers["ce-specversion"] == "1.0"
    assert headers["ce-tenantid"] == str(TENANT)
    assert "content-type" not in headers
    assert all(name.startswith("ce-") for name in headers)


def test_kafka_headers_use_the_ce_underscore_prefix_and_carry_content_type() -> None:
    headers = _envelope().headers(HeaderStyle.KAFKA)
    assert headers["ce_type"] == "commerce.identity.RegisterUser.v1"
    assert headers["content-type"] == "application/json"


def test_time_is_utc_with_a_z_suffix() -> None:
    envelope = _envelope()
    assert envelope.headers(HeaderStyle.RABBIT)["ce-time"].endswith("Z")


def test_a_new_conversation_correlates_to_itself_and_caused_messages_inherit_it() -> None:
    command = _envelope()
    assert command.correlation_id == command.id
    event = command.caused(message_id=uuid4(), type="x.Y.v1", source="/tests", subject="u1")
    assert event.correlation_id == command.correlation_id
    assert event.causation_id == command.id
    assert event.tenant_id == command.tenant_id


def test_missing_tenant_is_its_own_error() -> None:
    headers = _envelope().headers(HeaderStyle.RABBIT)
    del headers["ce-tenantid"]
    with pytest.raises(MissingTenantError, match="tenantid"):
        parse_envelope(headers)


def test_a_tenant_that_is_not_a_uuid_is_a_missing_tenant() -> None:
    headers = _envelope().headers(HeaderStyle.KAFKA) | {"ce_tenantid": "acme"}
    with pytest.raises(MissingTenantError, match="not a UUID"):
        parse_envelope(headers)


@pytest.mark.parametrize(
    ("header", "value", "message"),
    [
        ("ce-specversion", "0.3", "specversion"),
        ("ce-id", "42", "'id' is not a UUID"),
        ("ce-type", "", "'type'"),
        ("ce-time", "yesterday", "RFC 3339"),
        ("ce-time", "2026-01-01T00:00:00", "no UTC offset"),
        ("ce-aggregateversion", "0", "aggregateversion"),
        ("ce-aggregateversion", "two", "aggregateversion"),
    ],
)
def test_malformed_attributes_are_refused(header: str, value: str, message: str) -> None:
    headers = _envelope().headers(HeaderStyle.RABBIT) | {header: value}
    with pytest.raises(EnvelopeError, match=message):
        parse_envelope(headers)


@pytest.mark.parametrize("style", list(HeaderStyle))
def test_an_events_aggregate_version_round_trips_through_the_headers(style: HeaderStyle) -> None:
    envelope = replace(_envelope(), aggregate_version=7)
    headers = envelope.headers(style)
    assert headers[f"{style}aggregateversion"] == "7"
    assert parse_envelope(headers).aggregate_version == 7
    assert "ce-aggregateversion" not in _envelope().headers(HeaderStyle.RABBIT)


def test_bytes_header_values_as_kafka_delivers_them_are_accepted() -> None:
    envelope = _envelope()
    raw = {k: v.encode() for k, v in envelope.headers(HeaderStyle.KAFKA).items()}
    parsed = parse_envelope(raw)
    assert parsed.id == envelope.id
    assert parsed.time == envelope.time.astimezone(UTC)


def test_trace_context_travels_unprefixed() -> None:
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    headers = _envelope().headers(HeaderStyle.RABBIT) | {"traceparent": traceparent}
    assert parse_envelope(headers).traceparent == traceparent
    assert datetime.now(UTC) >= parse_envelope(headers).time
