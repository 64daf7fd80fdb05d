"""Transient failures retry at once, then through the broker after a delay, then go to
the DLQ; the same policy behaves the same on RabbitMQ and Kafka."""

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from uuid import uuid4

import pytest

from commerce.config import Settings
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.subscribers import CurrentEnvelope
from commerce.platform.messaging.channels import CommandChannel, RetryPolicy
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.brokers import BrokerProbe, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.worker import settings_for, worker_of_one_channel

pytestmark = pytest.mark.integration

FLAKY = CommandChannel(
    name="tests.flaky-command",
    description="A command whose handler fails as often as the test says.",
    retry=RetryPolicy(immediate=1, rounds=2, initial_delay=0.5, multiplier=2, jitter=0.1),
)


class FlakyHandler:
    """Fails the first ``failures[email]`` attempts for each e-mail, then succeeds."""

    def __init__(self) -> None:
        self.failures: dict[str, int] = {}
        self.attempts: dict[str, list[float]] = defaultdict(list)
        self.succeeded: set[str] = set()

    async def __call__(self, body: RegisterUser, envelope: CurrentEnvelope) -> None:
        self.attempts[body.email].append(time.monotonic())
        if len(self.attempts[body.email]) <= self.failures.get(body.email, 0):
            raise ConnectionError(f"flaky dependency, attempt {len(self.attempts[body.email])}")
        self.succeeded.add(body.email)


async def _send(probe: BrokerProbe, settings: Settings, email: str) -> None:
    style = (
        HeaderStyle.KAFKA
        if settings.broker.url.get_secret_value().startswith("kafka")
        else HeaderStyle.RABBIT
    )
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=uuid4(), subject=email
    )
    body = RegisterUser(
        user_id=uuid4(), email=email, display_name="F", password="correct horse battery"
    ).wire_body()
    await probe.send_command(
        FLAKY.name, body, envelope.headers(style) | {"content-type": "application/json"}, key=email
    )


async def _until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition() and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


async def test_transient_failures_retry_at_once_then_after_a_delay_then_dead_letter(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    handler = FlakyHandler()
    handler.failures = {"once@example.com": 1, "thrice@example.com": 3, "always@example.com": 99}
    probe = await probe_for(settings)
    try:
        await probe.watch(FLAKY.dead_letters)
        async with worker_of_one_channel(settings, FLAKY, handler):
            for email in handler.failures:
                await _send(probe, settings, email)
            await _until(lambda: {"once@example.com", "thrice@example.com"} <= handler.succeeded)
            dead = await probe.collect(FLAKY.dead_letters, lambda m: True, count=1, timeout=30)
            await asyncio.sleep(0.5)
    finally:
        await probe.close()

    once, thrice, always = (handler.attempts[e] for e in handler.failures)
    assert len(once) == 2, "one immediate retry was enough"
    assert len(thrice) == 4, "two attempts per delivery: first delivery, then round 1"
    assert thrice[2] - thrice[1] >= 0.5 * 0.9, "round 1 waited at least its delay"
    assert len(always) == 6, "every round used, then no more attempts"
    assert always[4] - always[3] >= 1.0 * 0.9, "round 2 waited at least its (longer) delay"
    [letter] = dead
    assert letter.headers["x-fault-reason"] == "retries-exhausted"
    assert letter.headers["x-fault-attempts"] == "6"
    assert letter.headers["x-retry-round"] == "2"
    assert letter.headers["x-fault-exception-type"] == "builtins.ConnectionError"
    assert "attempt 6" in letter.headers["x-fault-message"]
    assert b"always@example.com" in letter.body
