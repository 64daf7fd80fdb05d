"""The relay behind the ``broker`` circuit breaker, against a real RabbitMQ reached through
a TCP proxy the test cuts: while the broker does not answer the breaker opens, the relay
only ever sends one probe per reset timeout and the rows stay in the outbox; once the
broker answers again the probe closes the breaker and every row is published."""

import asyncio
import json
from collections.abc import Awaitable, Callable, Sequence
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import pytest
from opentelemetry.trace import NoOpTracer
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from structlog.testing import capture_logs

from commerce.bootstrap.relay import build_relay
from commerce.bootstrap.wiring import breakers_from, build_transport
from commerce.config import BreakerSettings
from commerce.identity.messages.channels import USERS
from commerce.platform.kit.ids import TenantId, UserId
from commerce.platform.messaging.transport import OutgoingMessage
from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.postgres.engine import create_engine
from tests.support.brokers import Received, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.outbox_rows import registered, stage
from tests.support.proxy import TcpProxy
from tests.support.services import host_port
from tests.support.worker import settings_for

pytestmark = pytest.mark.integration

_UNSENT = text(
    "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND payload->>'email' LIKE :marker"
)


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _breaker_gauge() -> float | None:
    return REGISTRY.get_sample_value("commerce_circuit_breaker_state", {"dependency": "broker"})


async def _eventually(condition: Callable[[], Awaitable[bool]], timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def test_the_relay_leaves_a_cut_broker_alone_keeps_its_rows_and_sends_them_all_after(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, relay_engine: AsyncEngine
) -> None:
    proxy = TcpProxy(*host_port(rabbit_url, 5672))
    await proxy.start()
    settings = settings_for(provisioned_database, _through(rabbit_url, proxy.port))
    settings.breakers = BreakerSettings(failure_threshold=2, reset_timeout_seconds=0.5)
    settings.relay.publish_timeout_seconds = 1.0  # a cut broker never confirms
    direct = settings.model_copy(deep=True)
    direct.broker.url = SecretStr(rabbit_url)
    breakers = breakers_from(settings)
    broker_breaker = breakers("broker")
    transport = build_transport(settings)
    attempts: list[str] = []  # the breaker's state at each publish that reached the transport
    publish = transport.publish_events

    async def counted(events: Sequence[tuple[str, OutgoingMessage]]) -> None:
        attempts.append(broker_breaker.state)
        await publish(events)

    transport.publish_events = counted  # type: ignore[method-assign]
    relay = build_relay(settings, transport, relay_engine, tracer=NoOpTracer(), breakers=breakers)
    engine = create_engine(provisioned_database.app_url, pool_size=1)
    counter = create_engine(provisioned_database.relay_url, pool_size=1)
    probe = await probe_for(direct)
    tenant, marker = TenantId(uuid4()), uuid4().hex[:12]

    async def unsent() -> int:
        async with counter.connect() as connection:
            count = await connection.scalar(_UNSENT, {"marker": f"{marker}%"})
        return int(count or 0)

    async def broker_breaker_open() -> bool:
        return broker_breaker.state != "closed" and _breaker_gauge() in (1.0, 2.0)

    def ours(message: Received) -> bool:
        return str(json.loads(message.body).get("email", "")).startswith(marker)

    stop = asyncio.Event()
    await transport.broker.start()
    running: asyncio.Task[None] | None = None
    try:
        await probe.watch(USERS.name, stream=True)
        await proxy.cut()
        async with engine.begin() as connection:
            await stage(
                connection,
                [registered(tenant, UserId.new(), f"{marker}-{n}@example.com") for n in range(5)],
            )
        with capture_logs() as logs:
            running = asyncio.create_task(relay.run(stop))
            await _eventually(broker_breaker_open)
            await asyncio.sleep(1.5)  # three reset timeouts: the relay keeps to its probes
            assert await unsent() == 5, "every row waits in the outbox"

            await proxy.start()
            await _eventually(lambda: _all_sent(unsent))
            published = await probe.collect(USERS.name, ours, count=5)
        assert broker_breaker.state == "closed"
        assert _breaker_gauge() == 0
    finally:
        stop.set()
        if running is not None:
            await asyncio.wait_for(running, 10)
        await transport.broker.stop()
        await probe.close()
        await proxy.cut()
        await engine.dispose()
        await counter.dispose()
    assert sorted(json.loads(m.body)["email"] for m in published) == sorted(
        f"{marker}-{n}@example.com" for n in range(5)
    )
    transitions = [e["state"] for e in logs if e.get("dependency") == "broker"]
    assert transitions[0] == "open"
    assert transitions[-1] == "closed"
    assert attempts.count("half-open") == transitions.count("half-open"), "one probe each"
    assert "open" not in attempts, "nothing reaches the broker while the breaker is open"


async def _all_sent(unsent: Callable[[], Awaitable[int]]) -> bool:
    return await unsent() == 0
