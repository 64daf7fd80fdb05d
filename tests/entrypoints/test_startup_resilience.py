"""Starting while a dependency is missing (docs/adr/0015), as an operator runs it.

The broker sits behind a TCP proxy that accepts connections but forwards them to a dead
port at first: the processes' TCP preflight passes, the AMQP / Kafka handshake fails.
Then the proxy is pointed at the real broker. PostgreSQL is made to appear late the same
way, for the preflight's wait.
"""

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.config import Settings
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import users
from tests.support.database import ProvisionedDatabase
from tests.support.processes import COMMERCE, ServiceProcesses
from tests.support.proxy import TcpProxy
from tests.support.tansu import free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

RETRYING = '"start failed; retrying"'


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 5672


def _through(url: str, port: int) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{port}" if credentials else f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=netloc))


@pytest.fixture
async def broker_proxy(broker_url: str) -> AsyncIterator[TcpProxy]:
    """A proxy to nothing (a closed port) until the test points it at the broker."""
    proxy = TcpProxy("127.0.0.1", free_port())
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
def settings(
    provisioned_database: ProvisionedDatabase, broker_url: str, broker_proxy: TcpProxy
) -> Settings:
    settings = settings_for(provisioned_database, _through(broker_url, broker_proxy.port))
    settings.http.port = free_port()
    return settings


async def _eventually(what: str, check: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert callable(check)
        if await check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


async def _ready(settings: Settings) -> tuple[int, dict[str, object]] | None:
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{settings.http.port}/ready")
    except httpx.TransportError:
        return None
    return response.status_code, response.json()


async def test_worker_is_not_ready_until_its_consumers_run_then_consumes(
    settings: Settings,
    broker_url: str,
    broker_proxy: TcpProxy,
    app_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    with ServiceProcesses(environment_for(settings), tmp_path) as services:
        services.start("worker")

        async def retried_twice() -> bool:
            assert services.alive("worker"), services.logs("worker")[-3000:]
            return services.logs("worker").count(RETRYING) >= 2

        await _eventually("two failed broker starts", retried_twice)
        answer = await _ready(settings)
        assert answer is not None, "the worker serves HTTP while its broker start retries"
        status, body = answer
        assert status == 503
        assert body["checks"]["consumers"] == "starting"  # type: ignore[index]

        broker_proxy.retarget(*_address(broker_url))

        async def ready() -> bool:
            answer = await _ready(settings)
            return answer is not None and answer[0] == 200

        await _eventually("/ready 200 after the broker came back", ready, timeout=90)
        assert '"started after retries"' in services.logs("worker")

        tenant, user_id = uuid4(), uuid4()
        payload = {
            "user_id": str(user_id),
            "email": f"late-{user_id.hex[:8]}@example.com",
            "display_name": "Late Starter",
            "password": "correct horse battery staple",
        }
        inherited = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
        direct = inherited | environment_for(settings) | {"COMMERCE_BROKER__URL": broker_url}
        command = [COMMERCE, "publish", "RegisterUser", "--json", json.dumps(payload)]
        published = subprocess.run(
            [*command, "--tenant", str(tenant)],
            check=False,
            env=direct,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert published.returncode == 0, published.stderr

        async def applied() -> bool:
            async with tenant_transaction(app_engine, tenant) as connection:
                count = await connection.scalar(select(func.count()).select_from(users))
            return count == 1

        await _eventually("the command to be applied", applied)
        await _stop(services, "worker")


async def test_relay_retries_its_broker_start_and_stops_cleanly_meanwhile(
    settings: Settings, broker_url: str, broker_proxy: TcpProxy, tmp_path: Path
) -> None:
    with ServiceProcesses(environment_for(settings), tmp_path) as services:
        services.start("relay")

        async def retried_twice() -> bool:
            assert services.alive("relay"), services.logs("relay")[-3000:]
            return services.logs("relay").count(RETRYING) >= 2

        await _eventually("two failed broker starts", retried_twice)
        assert '"relay started"' not in services.logs("relay")
        started = time.monotonic()
        assert await _stop(services, "relay") == 0, services.logs("relay")[-3000:]
        assert time.monotonic() - started < 10, "SIGTERM ends the retries promptly"

        services.start("relay")
        await _eventually("a failed broker start", lambda: _logged(services, RETRYING, 2))
        broker_proxy.retarget(*_address(broker_url))
        await _eventually("the relay to start", lambda: _logged(services, '"relay started"', 2))
        assert await _stop(services, "relay") == 0, services.logs("relay")[-3000:]


async def _stop(services: ServiceProcesses, name: str) -> int | None:
    """SIGTERM ``name`` and wait in a thread: the proxy it talks through runs on this
    event loop, which must keep forwarding while the process closes its connections."""
    return await asyncio.to_thread(services.stop, name, 30)


async def _logged(services: ServiceProcesses, line: str, log_number: int) -> bool:
    """Whether the ``log_number``-th relay log has ``line``."""
    log = services.log_path("relay", log_number)
    return log.exists() and line in log.read_text()


def _missing_postgres(settings: Settings, port: int) -> dict[str, str]:
    values = {}
    for name in ("url", "relay_url"):
        url = make_url(getattr(settings.database, name).get_secret_value())
        values[name] = url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
    settings.database.url = SecretStr(values["url"])
    settings.database.relay_url = SecretStr(values["relay_url"])
    return environment_for(settings)


async def test_run_waits_for_postgres_then_fails_naming_it(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    settings.startup_wait_seconds = 2
    env = _missing_postgres(settings, free_port())
    started = time.monotonic()
    with ServiceProcesses(env, tmp_path) as services:
        services.start("relay")
        code = await asyncio.to_thread(services.wait, "relay", 60)
        log = services.logs("relay")
    assert code == 1, log
    assert time.monotonic() - started >= 2, "it waited for the configured time"
    assert "PostgreSQL is unreachable at 127.0.0.1:" in log
    assert '"waiting for services"' in log


async def test_run_starts_once_postgres_appears_within_the_wait(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    target = make_url(provisioned_database.app_url)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    proxy.port = free_port()
    settings = settings_for(provisioned_database, rabbit_url)
    settings.startup_wait_seconds = 30
    env = _missing_postgres(settings, proxy.port)
    with ServiceProcesses(env, tmp_path) as services:
        services.start("relay")
        await _eventually(
            "the relay to wait", lambda: _logged(services, '"waiting for services"', 1)
        )
        await proxy.start()
        try:
            await _eventually("the relay to start", lambda: _logged(services, '"relay started"', 1))
            assert await _stop(services, "relay") == 0, services.logs("relay")[-3000:]
        finally:
            await proxy.cut()
