"""Properties of the CloudEvents envelope: its headers round trip on both transports."""

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.messaging.envelope import Envelope, HeaderStyle, parse_envelope

pytestmark = pytest.mark.property


@given(
    message_type=st.from_regex(r"\A[a-z]+(\.[A-Za-z]+){1,3}\.v[0-9]\Z"),
    tenant=st.uuids(),
    subject=st.none() | st.uuids().map(str),
    style=st.sampled_from(HeaderStyle),
    traceparent=st.none() | st.just("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"),
)
def test_envelope_headers_round_trip_on_both_transports(
    message_type: str,
    tenant: UUID,
    subject: str | None,
    style: HeaderStyle,
    traceparent: str | None,
) -> None:
    """Property: parse_envelope(envelope.headers(style)) == envelope, for both bindings."""
    envelope = Envelope.new(
        type=message_type, source="/commerce", tenant_id=tenant, subject=subject
    )
    if traceparent:
        from dataclasses import replace

        envelope = replace(envelope, traceparent=traceparent)
    assert parse_envelope(envelope.headers(style)) == envelope
