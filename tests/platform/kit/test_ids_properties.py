"""Properties of identifiers, e-mail addresses, envelopes and command payloads."""

import json
import time
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.identity.messages.commands import RegisterUser
from commerce.platform.kit.errors import InvalidEmail
from commerce.platform.kit.ids import EmailAddress, new_uuid7
from commerce.platform.messaging.envelope import Envelope, HeaderStyle, parse_envelope

pytestmark = pytest.mark.property

_ATOM = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+_-",
    min_size=1,
    max_size=20,
)
_LABEL = st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?\Z")


def test_uuid7_is_version_7_rfc_variant_and_time_ordered_across_milliseconds() -> None:
    """Property: new_uuid7 yields v7 ids whose order follows creation time (ms)."""
    earlier = new_uuid7()
    time.sleep(0.002)
    later = new_uuid7()
    for value in (earlier, later):
        assert value.version == 7
        assert value.variant == "specified in RFC 4122"
    assert earlier < later


@given(
    local=_ATOM,
    labels=st.lists(_LABEL, min_size=1, max_size=3),
    tld=st.from_regex(r"\A[a-zA-Z]{2,6}\Z"),
)
def test_email_normalisation_is_idempotent(local: str, labels: list[str], tld: str) -> None:
    """Property: parse(str(parse(x))) == parse(x) for every valid address x."""
    text = f"{local}@{'.'.join([*labels, tld])}"
    parsed = EmailAddress.parse(text)
    assert EmailAddress.parse(str(parsed)) == parsed
    assert parsed.value == parsed.value.lower()


@given(st.text(max_size=40).filter(lambda t: "@" not in t))
def test_text_without_an_at_sign_is_never_an_email(text: str) -> None:
    """Property: no string lacking '@' parses as an address."""
    with pytest.raises(InvalidEmail):
        EmailAddress.parse(text)


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


@given(
    user_id=st.uuids(),
    email=st.emails().filter(lambda e: len(e) <= 254),
    display_name=st.text(min_size=1, max_size=200).map(str.strip).filter(bool),
    password=st.text(min_size=12, max_size=64).filter(lambda p: p.strip() == p and len(p) >= 12),
)
def test_register_user_survives_the_wire(
    user_id: UUID, email: str, display_name: str, password: str
) -> None:
    """Property: a command serialised for sending parses back equal, secret included."""
    command = RegisterUser(
        user_id=user_id, email=email, display_name=display_name, password=password
    )
    parsed = RegisterUser.model_validate_json(command.wire_body())
    assert parsed == command
    assert parsed.password.get_secret_value() == password
    assert json.loads(command.model_dump_json())["password"] == "**********"
