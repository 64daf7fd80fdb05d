"""Subscribing endpoints (SSRF at subscription time) and fanning an event out to them."""

import asyncio
import ipaddress
import json
import os
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from commerce.platform.kit.errors import InvalidValue, NotFound
from commerce.platform.kit.ids import TenantId
from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers
from commerce.webhooks.adapters.guard import ResilientEndpointGuard
from commerce.webhooks.adapters.http_sender import HttpWebhookSender
from commerce.webhooks.adapters.secret_cipher import AesGcmSecretCipher
from commerce.webhooks.adapters.store import SqlWebhookStore
from commerce.webhooks.application.delivery import DeliveryPolicy, Webhooks
from commerce.webhooks.application.fan_out import fan_out
from commerce.webhooks.application.management import (
    EndpointAdmin,
    EndpointSpec,
    create_endpoint,
    disable_endpoint,
    rotate_secret,
)
from commerce.webhooks.application.recovery import RecoveryProgress, recover, resend
from commerce.webhooks.domain.addresses import AddressPolicy, IpAddress
from commerce.webhooks.domain.errors import InvalidWebhookUrl, RefusedAddress
from commerce.webhooks.domain.outcomes import Verdict
from commerce.webhooks.domain.schedule import RetrySchedule
from tests.webhooks.receivers import Receiver, receiver

pytestmark = pytest.mark.integration
LOCAL = AddressPolicy.allowing(["127.0.0.1/32"])


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class StubResolver:
    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        names = {"partner.test": "127.0.0.1", "intranet.test": "10.0.0.7"}
        return [ipaddress.ip_address(names[host])] if host in names else []


@pytest.fixture
async def stub() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running


@pytest.fixture
def store(app_engine: AsyncEngine) -> SqlWebhookStore:
    return SqlWebhookStore(app_engine, AesGcmSecretCipher({1: os.urandom(32)}))


@pytest.fixture
async def webhooks(store: SqlWebhookStore) -> AsyncIterator[Webhooks]:
    sender = HttpWebhookSender(LOCAL, StubResolver(), timeout=2.0)
    yield Webhooks(
        store=store,
        sender=sender,
        guard=ResilientEndpointGuard(CircuitBreakers(BreakerPolicy()), overall=8, per_endpoint=2),
        clock=UtcClock(),
        random=random.random,
        policy=DeliveryPolicy(RetrySchedule(scale=0.001)),
    )
    await sender.aclose()


def admin_of(store: SqlWebhookStore, policy: AddressPolicy = LOCAL) -> EndpointAdmin:
    return EndpointAdmin(store, StubResolver(), policy, UtcClock(), timedelta(hours=24))


def event(event_type: str = "commerce.orders.OrderPlaced.v1") -> dict[str, object]:
    return {"specversion": "1.0", "id": str(uuid4()), "type": event_type, "data": {"n": 1}}


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/h",
        "http://10.0.0.1/h",
        "http://169.254.169.254/latest",
        "http://[::1]/h",
        "http://[::ffff:127.0.0.1]/h",
        "http://2130706433/h",
        "http://intranet.test/h",
        "http://partner.test/h",
        "http://nowhere.test/h",
    ],
)
async def test_a_forbidden_url_is_refused_at_subscription_and_nothing_is_stored(
    store: SqlWebhookStore, url: str
) -> None:
    tenant = TenantId(uuid4())
    with pytest.raises(RefusedAddress):
        await create_endpoint(admin_of(store, AddressPolicy()), tenant, uuid4(), EndpointSpec(url))
    assert await store.endpoints(tenant) == []


async def test_a_url_that_is_not_http_is_refused(store: SqlWebhookStore) -> None:
    with pytest.raises(InvalidWebhookUrl):
        await create_endpoint(admin_of(store), TenantId(uuid4()), uuid4(), EndpointSpec("ftp://x/"))


async def test_an_event_reaches_each_subscribed_endpoint_once_despite_redelivery(
    store: SqlWebhookStore, webhooks: Webhooks, stub: Receiver
) -> None:
    admin, tenant = admin_of(store), TenantId(uuid4())
    port = stub.url.rsplit(":", 1)[1]
    healthy, flaky, other = uuid4(), uuid4(), uuid4()
    secret = await create_endpoint(
        admin,
        tenant,
        healthy,
        EndpointSpec(f"http://partner.test:{port}/ok", ["commerce.orders.*"]),
    )
    await create_endpoint(admin, tenant, flaky, EndpointSpec(stub.url + "/flaky"))
    await create_endpoint(
        admin, tenant, other, EndpointSpec(stub.url + "/ok", ["commerce.billing.*"])
    )
    placed = event()
    rounds = 0
    while (result := await fan_out(tenant, placed, webhooks, max_payload_bytes=4096)).retry_in:
        rounds += 1
        await asyncio.sleep(result.retry_in)
    assert rounds == 3
    paths = [r.path for r in stub.requests]
    assert paths.count("/ok") == 1  # the healthy endpoint; "other" does not subscribe
    assert paths.count("/flaky") == 4
    assert {r.headers["webhook-id"] for r in stub.requests} == {placed["id"]}
    [got] = [r for r in stub.requests if r.path == "/ok"]
    Webhook(secret.reveal()).verify(got.body, got.headers)
    assert json.loads(got.body) == placed
    again = await fan_out(tenant, placed, webhooks, max_payload_bytes=4096)  # redelivered
    assert {o.decision.verdict for o in again.outcomes.values()} == {Verdict.DELIVERED}
    assert len(stub.requests) == 5


async def test_after_rotation_receivers_with_either_key_verify(
    store: SqlWebhookStore, webhooks: Webhooks, stub: Receiver
) -> None:
    admin, tenant, endpoint = admin_of(store), TenantId(uuid4()), uuid4()
    old = await create_endpoint(admin, tenant, endpoint, EndpointSpec(stub.url + "/ok"))
    new = await rotate_secret(admin, tenant, endpoint)
    await fan_out(tenant, event(), webhooks, max_payload_bytes=4096)
    [got] = stub.requests
    Webhook(old.reveal()).verify(got.body, got.headers)
    Webhook(new.reveal()).verify(got.body, got.headers)


async def test_a_disabled_endpoint_gets_nothing_and_a_big_event_goes_thin(
    store: SqlWebhookStore, webhooks: Webhooks, stub: Receiver
) -> None:
    admin, tenant = admin_of(store), TenantId(uuid4())
    off, on = uuid4(), uuid4()
    await create_endpoint(admin, tenant, off, EndpointSpec(stub.url + "/ok"))
    await create_endpoint(admin, tenant, on, EndpointSpec(stub.url + "/ok"))
    await disable_endpoint(admin, tenant, off)
    big = {**event(), "data": {"blob": "x" * 5000}}
    result = await fan_out(tenant, big, webhooks, max_payload_bytes=4096)
    assert list(result.outcomes) == [str(on)]
    [got] = stub.requests
    thin = json.loads(got.body)
    assert thin["datatruncated"] is True
    assert "data" not in thin
    assert thin["id"] == big["id"]


async def test_another_tenant_sees_none_of_the_endpoints(
    store: SqlWebhookStore, stub: Receiver
) -> None:
    owner, stranger, endpoint = TenantId(uuid4()), TenantId(uuid4()), uuid4()
    await create_endpoint(admin_of(store), owner, endpoint, EndpointSpec(stub.url + "/ok"))
    assert [e.endpoint_id for e in await store.endpoints(owner)] == [endpoint]
    assert await store.endpoints(stranger) == []
    assert await store.endpoint(stranger, endpoint) is None


async def test_recover_resends_the_failed_messages_of_a_window_with_progress(
    store: SqlWebhookStore, webhooks: Webhooks, stub: Receiver
) -> None:
    admin, tenant, endpoint = admin_of(store), TenantId(uuid4()), uuid4()
    await create_endpoint(admin, tenant, endpoint, EndpointSpec(stub.url + "/flaky"))
    no_retries = replace(webhooks, policy=DeliveryPolicy(RetrySchedule(delays=())))
    events = [event() for _ in range(3)]
    for placed in events:  # the three failures of the flaky receiver: each given up on
        result = await fan_out(tenant, placed, no_retries, max_payload_bytes=4096)
        assert result.outcomes[str(endpoint)].decision.verdict is Verdict.EXHAUSTED
    since = datetime.now(UTC) - timedelta(hours=1)
    progress = [p async for p in recover(no_retries, tenant, endpoint, since)]
    assert progress == [RecoveryProgress(resent=3, delivered=3)]
    ids = [r.headers["webhook-id"] for r in stub.requests]
    assert sorted(ids[3:]) == sorted(str(e["id"]) for e in events)  # same webhook-ids
    assert [p async for p in recover(no_retries, tenant, endpoint, since)] == []
    with pytest.raises(InvalidValue):
        [p async for p in recover(no_retries, tenant, endpoint, since - timedelta(days=14))]


async def test_resend_sends_one_delivered_message_again_with_its_webhook_id(
    store: SqlWebhookStore, webhooks: Webhooks, stub: Receiver
) -> None:
    admin, tenant, endpoint = admin_of(store), TenantId(uuid4()), uuid4()
    await create_endpoint(admin, tenant, endpoint, EndpointSpec(stub.url + "/ok"))
    placed = event()
    await fan_out(tenant, placed, webhooks, max_payload_bytes=4096)
    outcome = await resend(webhooks, tenant, endpoint, str(placed["id"]))
    assert outcome.decision.verdict is Verdict.DELIVERED
    assert [r.headers["webhook-id"] for r in stub.requests] == [placed["id"]] * 2
    with pytest.raises(NotFound):
        await resend(webhooks, tenant, endpoint, "no-such-event")
