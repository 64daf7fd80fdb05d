"""The HTTP sender against real receivers on 127.0.0.1 (allow-listed) and a stub resolver."""

import ipaddress
import time
from collections.abc import AsyncIterator
from typing import ClassVar
from uuid import uuid4

import pytest
from standardwebhooks.webhooks import Webhook

from commerce.webhooks.adapters.http_sender import BODY_LIMIT, HttpWebhookSender, SystemResolver
from commerce.webhooks.domain.addresses import AddressPolicy, IpAddress
from commerce.webhooks.domain.errors import RefusedAddress
from commerce.webhooks.domain.signing import SigningSecret, webhook_headers
from tests.webhooks.receivers import Receiver, receiver

pytestmark = pytest.mark.integration
BODY = b'{"specversion":"1.0","id":"e1","type":"commerce.orders.OrderPlaced.v1"}'
LOCAL = AddressPolicy.allowing(["127.0.0.1/32"])


class StubResolver:
    """Names that never leave this machine."""

    NAMES: ClassVar[dict[str, list[str]]] = {
        "partner.test": ["127.0.0.1"],
        "intranet.test": ["10.0.0.7"],
        "mixed.test": ["93.184.215.14", "192.168.0.3"],
    }

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        return [ipaddress.ip_address(text) for text in self.NAMES.get(host, [])]


@pytest.fixture
async def stub() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running


@pytest.fixture
async def sender() -> AsyncIterator[HttpWebhookSender]:
    client = HttpWebhookSender(LOCAL, StubResolver(), timeout=2.0)
    yield client
    await client.aclose()


async def test_a_signed_delivery_arrives_with_exact_bytes_and_verifies(
    stub: Receiver, sender: HttpWebhookSender
) -> None:
    secret = SigningSecret.generate()
    headers = webhook_headers([secret], "evt_1", int(time.time()), BODY)
    attempt = await sender.send(stub.url + "/ok", BODY, headers)
    assert attempt.status == 200
    assert attempt.succeeded
    [got] = stub.requests
    assert got.body == BODY
    assert got.headers["webhook-id"] == "evt_1"
    Webhook(secret.reveal()).verify(got.body, got.headers)


async def test_a_redirect_is_a_failure_and_is_not_followed(
    stub: Receiver, sender: HttpWebhookSender
) -> None:
    attempt = await sender.send(stub.url + "/redirect", BODY, {})
    assert attempt.status == 302
    assert not attempt.succeeded
    assert [r.path for r in stub.requests] == ["/redirect"]


async def test_a_hanging_receiver_times_out(stub: Receiver, sender: HttpWebhookSender) -> None:
    attempt = await sender.send(stub.url + "/hang", BODY, {})
    assert attempt.timed_out
    assert attempt.status is None


async def test_gone_busy_and_big_answers_are_recorded(
    stub: Receiver, sender: HttpWebhookSender
) -> None:
    assert (await sender.send(stub.url + "/gone", BODY, {})).status == 410
    busy = await sender.send(stub.url + "/busy", BODY, {})
    assert (busy.status, busy.retry_after) == (429, 120.0)
    big = await sender.send(stub.url + "/big", BODY, {})
    assert big.status == 500
    assert len(big.body) == BODY_LIMIT


async def test_a_name_connects_to_the_checked_address_with_its_own_host_header(
    stub: Receiver, sender: HttpWebhookSender
) -> None:
    port = stub.url.rsplit(":", 1)[1]
    attempt = await sender.send(f"http://partner.test:{port}/ok", BODY, {})
    assert attempt.status == 200
    assert stub.requests[0].headers["Host"] == f"partner.test:{port}"


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://2130706433/h",
        "http://intranet.test/h",
        "http://mixed.test/h",
        "http://unknown.test/h",
    ],
)
async def test_a_forbidden_target_is_refused_at_connect_time(url: str) -> None:
    strict = HttpWebhookSender(AddressPolicy(), StubResolver(), timeout=0.5)
    try:
        with pytest.raises(RefusedAddress):
            await strict.send(url, BODY, {})
    finally:
        await strict.aclose()


async def test_without_the_allow_list_127_0_0_1_is_refused(stub: Receiver) -> None:
    strict = HttpWebhookSender(AddressPolicy(), StubResolver(), timeout=0.5)
    try:
        with pytest.raises(RefusedAddress, match="loopback"):
            await strict.send(stub.url + "/ok", BODY, {})
        port = stub.url.rsplit(":", 1)[1]
        with pytest.raises(RefusedAddress):
            await strict.send(f"http://partner.test:{port}/ok", BODY, {})
    finally:
        await strict.aclose()
    assert stub.requests == []


async def test_a_refused_connection_is_an_attempt_with_an_error() -> None:
    lone = HttpWebhookSender(LOCAL, StubResolver(), timeout=2.0)
    try:
        attempt = await lone.send("http://127.0.0.1:9/h", BODY, {"x-id": uuid4().hex})
    finally:
        await lone.aclose()
    assert attempt.status is None
    assert attempt.error


async def test_the_system_resolver_sees_localhost_as_loopback_and_it_is_refused() -> None:
    addresses = await SystemResolver().resolve("localhost", 80)
    assert addresses
    assert all(address.is_loopback for address in addresses)
    strict = HttpWebhookSender(AddressPolicy(), SystemResolver(), timeout=0.5)
    try:
        with pytest.raises(RefusedAddress, match="loopback"):
            await strict.send("http://localhost:9/h", BODY, {})
    finally:
        await strict.aclose()
