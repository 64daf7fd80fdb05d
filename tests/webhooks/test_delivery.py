"""Delivery end to end below the broker: Postgres store, real receivers on 127.0.0.1.

Each test drives :func:`deliver` the way the delivery consumer does: one call per
(re)delivery of the message, following the decision's delay on a time-scaled schedule.
"""

import asyncio
import ipaddress
import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from standardwebhooks.webhooks import Webhook

from commerce.platform.kit.ids import TenantId
from commerce.platform.resilience.breakers import BreakerPolicy, CircuitBreakers
from commerce.webhooks.adapters.guard import ResilientEndpointGuard
from commerce.webhooks.adapters.http_sender import HttpWebhookSender
from commerce.webhooks.adapters.secret_cipher import AesGcmSecretCipher
from commerce.webhooks.adapters.store import SqlWebhookStore
from commerce.webhooks.application.delivery import DeliveryPolicy, Webhooks, deliver
from commerce.webhooks.application.ports import DeliveryRequest
from commerce.webhooks.domain.addresses import AddressPolicy, IpAddress
from commerce.webhooks.domain.endpoint import DisabledReason, Endpoint
from commerce.webhooks.domain.event_filter import EventFilter
from commerce.webhooks.domain.outcomes import Verdict
from commerce.webhooks.domain.schedule import SVIX_SCHEDULE, RetrySchedule
from commerce.webhooks.domain.signing import SigningSecret
from tests.webhooks.receivers import Receiver, receiver

pytestmark = pytest.mark.integration
SCALE = 0.001


class UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class NoNames:
    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        return [ipaddress.ip_address("127.0.0.1")] if host == "localhost" else []


@pytest.fixture
async def stub() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running


@pytest.fixture
async def webhooks(app_engine: AsyncEngine) -> AsyncIterator[Webhooks]:
    sender = HttpWebhookSender(AddressPolicy.allowing(["127.0.0.1/32"]), NoNames(), timeout=1.0)
    breakers = CircuitBreakers(BreakerPolicy(failure_threshold=5, reset_timeout=60.0))
    yield Webhooks(
        store=SqlWebhookStore(app_engine, AesGcmSecretCipher({1: os.urandom(32)})),
        sender=sender,
        guard=ResilientEndpointGuard(breakers, overall=8, per_endpoint=2),
        clock=UtcClock(),
        random=random.random,
        policy=DeliveryPolicy(RetrySchedule(scale=SCALE), timedelta(hours=120)),
    )
    await sender.aclose()


async def endpoint_at(webhooks: Webhooks, url: str) -> Endpoint:
    endpoint = Endpoint(
        uuid4(), TenantId(uuid4()), url, SigningSecret.generate(), EventFilter.of(["commerce.*"])
    )
    await webhooks.store.save_endpoint(endpoint, datetime.now(UTC))
    return endpoint


def request_for(endpoint: Endpoint, event_id: str | None = None) -> DeliveryRequest:
    event_id = event_id or f"evt_{uuid4().hex}"
    body = f'{{"specversion":"1.0","id":"{event_id}","type":"commerce.orders.OrderPlaced.v1"}}'
    return DeliveryRequest(
        endpoint.tenant_id,
        endpoint.endpoint_id,
        event_id,
        "commerce.orders.OrderPlaced.v1",
        body.encode(),
    )


async def test_a_healthy_endpoint_gets_the_event_once_signed_even_when_redelivered(
    webhooks: Webhooks, stub: Receiver
) -> None:
    endpoint = await endpoint_at(webhooks, stub.url + "/ok")
    request = request_for(endpoint)
    first = await deliver(request, webhooks)
    again = await deliver(request, webhooks)  # the broker redelivered the event
    assert (first.decision.verdict, again.decision.verdict) == (Verdict.DELIVERED,) * 2
    [got] = stub.requests
    assert got.headers["webhook-id"] == request.event_id
    Webhook(endpoint.secret.reveal()).verify(got.body, got.headers)
    stored = await webhooks.store.endpoint(endpoint.tenant_id, endpoint.endpoint_id)
    assert stored == endpoint  # the secret came back decrypted


async def test_a_flaky_endpoint_gets_it_after_retries_on_the_schedule(
    webhooks: Webhooks, stub: Receiver
) -> None:
    endpoint = await endpoint_at(webhooks, stub.url + "/flaky")
    request = request_for(endpoint)
    delays = []
    while (outcome := await deliver(request, webhooks)).decision.verdict is Verdict.RETRY:
        assert outcome.decision.delay is not None
        delays.append(outcome.decision.delay)
        await asyncio.sleep(outcome.decision.delay)
    assert outcome.decision.verdict is Verdict.DELIVERED
    assert len(delays) == 3
    for delay, scheduled in zip(delays, SVIX_SCHEDULE, strict=False):
        assert 0.8 * scheduled * SCALE <= delay <= 1.2 * scheduled * SCALE
    assert {r.headers["webhook-id"] for r in stub.requests} == {request.event_id}
    store = webhooks.store
    assert isinstance(store, SqlWebhookStore)
    attempts = await store.attempts(endpoint.tenant_id, endpoint.endpoint_id)
    assert [(a.number, a.attempt.status, a.verdict) for a in attempts] == [
        (1, 503, "retry"),
        (2, 503, "retry"),
        (3, 503, "retry"),
        (4, 200, "delivered"),
    ]


async def test_410_disables_the_endpoint_and_nothing_more_is_sent(
    webhooks: Webhooks, stub: Receiver
) -> None:
    endpoint = await endpoint_at(webhooks, stub.url + "/gone")
    outcome = await deliver(request_for(endpoint), webhooks)
    assert outcome.decision.verdict is Verdict.GONE
    assert outcome.disabled is not None
    assert outcome.disabled.disabled_reason == DisabledReason.GONE
    later = await deliver(request_for(endpoint), webhooks)
    assert later.decision.verdict is Verdict.EXHAUSTED
    assert len(stub.requests) == 1


async def test_a_hanging_endpoint_trips_its_breaker_without_slowing_a_healthy_one(
    webhooks: Webhooks, stub: Receiver
) -> None:
    hanging = await endpoint_at(webhooks, stub.url + "/hang")
    healthy = await endpoint_at(webhooks, stub.url + "/ok")
    stuck = [asyncio.create_task(deliver(request_for(hanging), webhooks)) for _ in range(7)]
    await asyncio.sleep(0.05)
    healthy_outcome = await deliver(request_for(healthy), webhooks)
    assert healthy_outcome.decision.verdict is Verdict.DELIVERED
    outcomes = await asyncio.gather(*stuck)
    hung = [r for r in stub.requests if r.path == "/hang"]
    # two at a time (its bulkhead): the third pair's timeouts opened the breaker, and the
    # seventh delivery made no attempt
    assert len(hung) == 6
    assert all(o.decision.verdict is Verdict.RETRY for o in outcomes)
    assert max(o.decision.delay or 0 for o in outcomes) >= 50.0  # the breaker's reset


async def test_a_failure_streak_past_the_period_disables_the_endpoint(
    webhooks: Webhooks, stub: Receiver
) -> None:
    endpoint = await endpoint_at(webhooks, stub.url + "/redirect")  # a failure, not an outage
    streak = endpoint.failed(datetime.now(UTC) - timedelta(hours=121), timedelta(hours=120))
    await webhooks.store.save_endpoint(streak, datetime.now(UTC))
    request = request_for(endpoint)
    outcome = await deliver(request, webhooks)
    while outcome.decision.verdict is Verdict.RETRY:
        outcome = await deliver(request, webhooks)
    assert outcome.decision.verdict is Verdict.EXHAUSTED
    assert outcome.disabled is not None
    assert outcome.disabled.disabled_reason == DisabledReason.FAILING
    assert len(stub.requests) == 8
