"""Our Standard Webhooks signer, checked by the independent ``standardwebhooks`` library."""

import json
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from commerce.platform.kit.ids import TenantId
from commerce.webhooks.domain.endpoint import Endpoint
from commerce.webhooks.domain.errors import InvalidSecret
from commerce.webhooks.domain.signing import SigningSecret, webhook_headers

BODY = b'{"specversion":"1.0","type":"commerce.orders.OrderPlaced.v1","data":{"n":1}}'
NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


def headers_now(
    keys: list[SigningSecret], body: bytes = BODY, at: int | None = None
) -> dict[str, str]:
    return webhook_headers(keys, "evt_" + uuid4().hex, at or int(time.time()), body)


@pytest.mark.unit
def test_a_receiver_with_the_key_verifies() -> None:
    secret = SigningSecret.generate()
    Webhook(secret.reveal()).verify(BODY, headers_now([secret]))


@pytest.mark.unit
def test_during_rotation_a_receiver_holding_either_key_verifies() -> None:
    old = SigningSecret.generate()
    endpoint = Endpoint(uuid4(), TenantId(uuid4()), "https://example.com/hook", old)
    rotated = endpoint.rotate(SigningSecret.generate(), NOW, timedelta(hours=24))
    keys = list(rotated.signing_keys(NOW + timedelta(hours=23)))
    headers = headers_now(keys)
    assert len(headers["webhook-signature"].split(" ")) == 2
    Webhook(old.reveal()).verify(BODY, headers)
    Webhook(rotated.secret.reveal()).verify(BODY, headers)


@pytest.mark.unit
def test_after_the_grace_period_the_old_key_no_longer_verifies() -> None:
    old = SigningSecret.generate()
    endpoint = Endpoint(uuid4(), TenantId(uuid4()), "https://example.com/hook", old)
    rotated = endpoint.rotate(SigningSecret.generate(), NOW, timedelta(hours=24))
    headers = headers_now(list(rotated.signing_keys(NOW + timedelta(hours=24))))
    Webhook(rotated.secret.reveal()).verify(BODY, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(old.reveal()).verify(BODY, headers)


@pytest.mark.unit
def test_a_tampered_body_does_not_verify() -> None:
    secret = SigningSecret.generate()
    headers = headers_now([secret])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.reveal()).verify(BODY.replace(b"1}", b"2}"), headers)


@pytest.mark.unit
def test_a_wrong_key_does_not_verify() -> None:
    headers = headers_now([SigningSecret.generate()])
    with pytest.raises(WebhookVerificationError):
        Webhook(SigningSecret.generate().reveal()).verify(BODY, headers)


@pytest.mark.unit
def test_a_stale_timestamp_does_not_verify() -> None:
    secret = SigningSecret.generate()
    headers = headers_now([secret], at=int(time.time()) - 6 * 60)
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret.reveal()).verify(BODY, headers)


@pytest.mark.unit
@pytest.mark.parametrize(
    "text", ["sk_abc", "whsec_!!!", "whsec_" + "QUFB" * 2, "whsec_" + "A" * 120]
)
def test_a_malformed_secret_is_refused(text: str) -> None:
    with pytest.raises(InvalidSecret):
        SigningSecret.parse(text)


@pytest.mark.unit
def test_a_secret_never_shows_in_its_repr() -> None:
    secret = SigningSecret.generate()
    assert secret.reveal().removeprefix("whsec_") not in repr(secret)
    assert "hidden" in repr(Endpoint(uuid4(), TenantId(uuid4()), "https://e.com", secret))


@pytest.mark.property
@given(
    key=st.binary(min_size=24, max_size=64),
    document=st.dictionaries(st.text(max_size=10), st.text(max_size=40) | st.integers()),
    message_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=40),
)
def test_signature_round_trips_through_standardwebhooks(
    key: bytes, document: dict[str, str | int], message_id: str
) -> None:
    body = json.dumps(document).encode()  # the library parses what it verified
    secret = SigningSecret(key)
    assert SigningSecret.parse(secret.reveal()) == secret
    headers = webhook_headers([secret], message_id, int(time.time()), body)
    Webhook(secret.reveal()).verify(body, headers)


@pytest.mark.property
@given(
    key=st.binary(min_size=24, max_size=64),
    body=st.binary(min_size=1, max_size=512).map(lambda raw: json.dumps(raw.hex()).encode()),
    flip=st.integers(min_value=0),
)
def test_any_flipped_body_byte_is_detected(key: bytes, body: bytes, flip: int) -> None:
    secret = SigningSecret(key)
    headers = webhook_headers([secret], "msg_1", int(time.time()), body)
    position = flip % len(body)
    tampered = body[:position] + bytes([body[position] ^ 0x01]) + body[position + 1 :]
    with pytest.raises(WebhookVerificationError):
        Webhook(secret.reveal()).verify(tampered, headers)
