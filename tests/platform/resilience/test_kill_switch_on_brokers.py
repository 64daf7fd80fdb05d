"""A database outage pauses a consumer instead of burning its retries: on RabbitMQ and on
Kafka, commands sent while the database is unreachable wait on the broker, untouched, and
are all handled once it answers again; none reaches a retry round or the DLQ."""

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import pytest
from pydantic import SecretStr

from commerce.bootstrap.service import build_service
from commerce.config import KillSwitchSettings, Settings
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.subscribers import CurrentEnvelope
from commerce.platform.messaging.channels import CommandChannel, RetryPolicy
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.observability.metrics_resilience import CONSUMER_PAUSES, CONSUMER_STATE
from commerce.platform.postgres.engine import ping
from commerce.platform.resilience.kill_switch import SwitchState
from tests.support.brokers import BrokerProbe, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.proxy import TcpProxy
from tests.support.worker import settings_for

pytestmark = pytest.mark.integration

NEEDS_DATABASE = CommandChannel(
    name="tests.needs-database",
    description="A command whose handler asks the database.",
    retry=RetryPolicy(immediate=1, rounds=1, initial_delay=0.2, multiplier=1, jitter=0),
)
COMMANDS = 12


def _through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _settings(database: ProvisionedDatabase, broker_url: str, proxy: TcpProxy) -> Settings:
    settings = settings_for(database, broker_url)
    return settings.model_copy(
        update={
            "database": settings.database.model_copy(
                update={"url": SecretStr(_through(proxy, database.app_url))}
            ),
            "kill_switch": KillSwitchSettings(
                trip_after=2, probe_interval_seconds=0.2, hold_seconds=1, recovered_after=3
            ),
        }
    )


async def _send(probe: BrokerProbe, settings: Settings, number: int) -> None:
    kafka = settings.broker.url.get_secret_value().startswith("kafka")
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=uuid4(), subject=str(number)
    )
    body = RegisterUser(
        user_id=uuid4(),
        email=f"u{number}@example.com",
        display_name="D",
        password="correct horse battery",
    ).wire_body()
    headers = envelope.headers(HeaderStyle.KAFKA if kafka else HeaderStyle.RABBIT)
    await probe.send_command(
        NEEDS_DATABASE.name, body, headers | {"content-type": "application/json"}, key=str(number)
    )


async def _until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def test_a_database_outage_pauses_the_consumer_and_every_command_waits_for_it(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    proxy = TcpProxy("127.0.0.1", urlsplit(provisioned_database.app_url).port or 5432)
    await proxy.start()
    settings = _settings(provisioned_database, broker_url, proxy)
    service = build_service(settings)
    handled: Counter[str] = Counter()

    async def needs_database(body: RegisterUser, envelope: CurrentEnvelope) -> None:
        await ping(service.engine)
        handled[body.email] += 1

    router = service.transport.router()
    service.command_subscriber(router, NEEDS_DATABASE)(needs_database)
    service.transport.broker.include_router(router)  # type: ignore[arg-type]
    probe = await probe_for(settings)
    consumer = NEEDS_DATABASE.consumer
    pauses_before = CONSUMER_PAUSES.labels(consumer, "postgres")._value.get()
    try:
        await probe.watch(NEEDS_DATABASE.dead_letters)
        await service.transport.broker.start()
        await _send(probe, settings, 0)
        await _until(lambda: handled["u0@example.com"] == 1)

        await proxy.cut()  # the database stops answering
        for number in range(1, COMMANDS):
            await _send(probe, settings, number)
        await _until(lambda: bool(service.kill_switches.paused()))
        assert CONSUMER_STATE.labels(consumer)._value.get() == 2
        readiness = await service.readiness()
        assert "postgres outage" in readiness[f"consumer {consumer}"]
        await asyncio.sleep(2.5)  # held messages go back to the broker and come again
        assert sum(handled.values()) == 1, "nothing is handled while the database is down"

        await proxy.start()  # the database answers again
        await _until(lambda: len(handled) == COMMANDS)
        guard = service.kill_switches.guard(consumer)
        assert guard is not None
        await _until(lambda: guard.state is SwitchState.RUNNING)
        dead = await probe.collect(NEEDS_DATABASE.dead_letters, lambda m: True, 1, timeout=1)
    finally:
        await service.transport.broker.stop()
        await service.close()
        await probe.close()
        await proxy.cut()

    assert dead == [], "no command went to the DLQ"
    assert set(handled.values()) == {1}, "each command was handled once"
    assert CONSUMER_PAUSES.labels(consumer, "postgres")._value.get() == pauses_before + 1
    assert CONSUMER_STATE.labels(consumer)._value.get() == 0
