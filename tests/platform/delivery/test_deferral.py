"""A message deferred on purpose comes back through the broker as often as it is deferred:
never retried at once, never counted as a failure round, never dead-lettered for it."""

import asyncio
from collections import defaultdict
from uuid import uuid4

import pytest

from commerce.identity.messages.commands import RegisterUser
from commerce.identity.subscribers import CurrentEnvelope
from commerce.platform.delivery.deferral import DeliveryDeferred
from commerce.platform.messaging.channels import CommandChannel, RetryPolicy
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.brokers import BrokerProbe, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.worker import settings_for, worker_of_one_channel

pytestmark = pytest.mark.integration

DEFERRED = CommandChannel(
    name="tests.deferred-command",
    description="A command its handler defers as often as the test says.",
    retry=RetryPolicy(immediate=2, rounds=1, initial_delay=0.2, jitter=0.1),
)


class DeferringHandler:
    """Defers each e-mail ``deferrals[email]`` times, then fails it ``failures[email]``
    times (transiently), then succeeds."""

    def __init__(self) -> None:
        self.deferrals: dict[str, int] = {}
        self.failures: dict[str, int] = {}
        self.attempts: dict[str, int] = defaultdict(int)
        self.succeeded: set[str] = set()

    async def __call__(self, body: RegisterUser, envelope: CurrentEnvelope) -> None:
        self.attempts[body.email] += 1
        attempt = self.attempts[body.email]
        deferrals = self.deferrals.get(body.email, 0)
        if attempt <= deferrals:
            raise DeliveryDeferred(0.1, reason="tests")
        if attempt <= deferrals + self.failures.get(body.email, 0):
            raise ConnectionError(f"flaky dependency, attempt {attempt}")
        self.succeeded.add(body.email)


async def send(probe: BrokerProbe, style: HeaderStyle, email: str) -> None:
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=uuid4(), subject=email
    )
    body = RegisterUser(
        user_id=uuid4(), email=email, display_name="D", password="correct horse battery"
    ).wire_body()
    headers = envelope.headers(style) | {"content-type": "application/json"}
    await probe.send_command(DEFERRED.name, body, headers, key=email)


async def test_deferrals_are_no_failures_and_leave_every_retry_round_to_real_ones(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    handler = DeferringHandler()
    # five deferrals on a channel of one retry round; then three failures: two immediate
    # tries of the delivery, and the one round
    handler.deferrals = {"deferred@example.com": 5, "then-flaky@example.com": 5}
    handler.failures = {"then-flaky@example.com": 3}
    probe = await probe_for(settings)
    try:
        await probe.watch(DEFERRED.dead_letters)
        style = HeaderStyle.KAFKA if broker_url.startswith("kafka") else HeaderStyle.RABBIT
        async with worker_of_one_channel(settings, DEFERRED, handler):
            for email in handler.deferrals:
                await send(probe, style, email)
            async with asyncio.timeout(60):
                while not set(handler.deferrals) <= handler.succeeded:
                    await asyncio.sleep(0.05)
        dead = await probe.collect(DEFERRED.dead_letters, lambda m: True, count=1, timeout=1)
    finally:
        await probe.close()
    assert handler.attempts["deferred@example.com"] == 6, "each deferral one delivery, no retry"
    assert handler.attempts["then-flaky@example.com"] == 9
    assert dead == []
