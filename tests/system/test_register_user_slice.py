"""End to end, as an operator runs it: ``commerce run all`` and ``commerce publish`` as
processes, on RabbitMQ and on Kafka (Tansu), against a real Postgres."""

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
from cloudevents.core.bindings import kafka, rabbitmq
from cloudevents.core.formats.json import JSONFormat
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.config import Settings
from commerce.identity.messages.channels import USERS
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.proxy import TcpProxy
from tests.support.tansu import free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

COMMERCE = str(Path(sys.executable).parent / "commerce")


def _environment(values: Mapping[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    return base | dict(values)


@dataclass
class Worker:
    """A running ``commerce run all`` process."""

    process: subprocess.Popen[bytes]
    url: str
    settings: Settings
    env: dict[str, str]
    log: Path

    async def ready(self) -> httpx.Response:
        async with httpx.AsyncClient(timeout=5) as client:
            return await client.get(f"{self.url}/ready")

    async def wait_ready(self, expected: int = 200, timeout: float = 120) -> httpx.Response:
        deadline = asyncio.get_running_loop().time() + timeout
        response: httpx.Response | None = None
        while asyncio.get_running_loop().time() < deadline:
            assert self.process.poll() is None, self.log.read_text()[-3000:]
            try:
                response = await self.ready()
                if response.status_code == expected:
                    return response
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.3)
        raise AssertionError(f"/ready never answered {expected}: {response and response.text}")


@pytest.fixture
async def database_proxy(provisioned_database: ProvisionedDatabase) -> AsyncIterator[TcpProxy]:
    url = make_url(provisioned_database.app_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.cut()


@pytest.fixture
async def worker(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    database_proxy: TcpProxy,
    tmp_path: Path,
) -> AsyncIterator[Worker]:
    port = free_port()
    settings = settings_for(provisioned_database, broker_url)
    settings.log.level = "DEBUG"  # the per-message lines read here are DEBUG (ADR 0027)
    app_url = make_url(provisioned_database.app_url).set(host="127.0.0.1", port=database_proxy.port)
    settings.database.url = SecretStr(app_url.render_as_string(hide_password=False))
    settings.http.port = port
    env = _environment(environment_for(settings))
    log = tmp_path / "worker.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [COMMERCE, "run", "all"], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    running = Worker(process, f"http://127.0.0.1:{port}", settings, env, log)
    try:
        await running.wait_ready()
        yield running
    finally:
        process.terminate()
        try:  # wait without blocking the loop: the database proxy lives on it
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the worker did not stop within 30 s of SIGTERM")


def _commerce(*args: str, env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMERCE, *args], env=dict(env), capture_output=True, text=True, timeout=60, check=False
    )


def _from_sdk(
    broker_url: str, body: bytes, headers: dict[str, str], content_type: str | None, key: str | None
):  # type: ignore[no-untyped-def]
    if broker_url.startswith("kafka"):
        message = kafka.KafkaMessage(
            headers={k: v.encode() for k, v in headers.items()}, key=key, value=body
        )
        return kafka.from_binary(message, JSONFormat())
    return rabbitmq.from_binary(
        rabbitmq.RabbitMQMessage(headers=headers, content_type=content_type, body=body),
        JSONFormat(),
    )


async def _directory_row(engine: AsyncEngine, tenant: UUID, user_id: UUID) -> Any:
    """The user's row in the user directory read model, as the tenant sees it."""
    deadline = asyncio.get_running_loop().time() + 30
    while asyncio.get_running_loop().time() < deadline:
        async with engine.begin() as connection:
            await connection.execute(
                text("SELECT set_config('app.tenant_id', :tenant, true)"), {"tenant": str(tenant)}
            )
            row = (
                await connection.execute(
                    text("SELECT email, version FROM user_directory WHERE user_id = :id"),
                    {"id": user_id},
                )
            ).first()
        if row is not None:
            return row
        await asyncio.sleep(0.2)
    raise AssertionError("the user directory projection never recorded the user")


async def test_published_command_becomes_an_event_a_cloudevents_consumer_accepts(
    worker: Worker, broker_url: str, app_engine: AsyncEngine
) -> None:
    tenant, user_id = uuid4(), uuid4()
    email = f"e2e-{user_id.hex[:10]}@example.com"
    probe = await probe_for(worker.settings)
    try:
        await probe.watch(USERS.name, stream=True)
        payload = {
            "user_id": str(user_id),
            "email": email.upper(),
            "display_name": "End To End",
            "password": "correct horse battery staple",
        }
        result = _commerce(
            "publish",
            "RegisterUser",
            "--json",
            json.dumps(payload),
            "--tenant",
            str(tenant),
            env=worker.env,
        )
        assert result.returncode == 0, result.stderr
        command_id = UUID(result.stdout.strip().splitlines()[-1])
        [message] = await probe.collect(
            USERS.name, lambda m: json.loads(m.body).get("email") == email, count=1, timeout=30
        )
    finally:
        await probe.close()
    event = _from_sdk(broker_url, message.body, message.headers, message.content_type, message.key)
    assert event.get_type() == "commerce.identity.UserRegistered.v1"
    assert event.get_subject() == str(user_id)
    assert event.get_extension("tenantid") == str(tenant)
    assert event.get_extension("causationid") == str(command_id)
    assert event.get_extension("correlationid") == str(command_id)
    assert UUID(event.get_id()).version == 7
    assert event.get_extension("aggregateversion") == "1"
    assert event.get_data()["user_id"] == str(user_id)
    row = await _directory_row(app_engine, tenant, user_id)
    assert (row.email, row.version) == (email, 1), "the projection consumed the event"
    async with httpx.AsyncClient(timeout=5) as client:
        metrics = (await client.get(f"{worker.url}/metrics")).text
    lag = 'commerce_projection_lag_seconds{projection="commerce.projections.user-directory"}'
    assert lag in metrics, "the projection reports how far it trails"
    log = worker.log.read_text()
    assert "correct horse battery staple" not in log, "the password never reaches the logs"
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    processed = [line for line in lines if line.get("event") == "command processed"]
    assert processed, "the worker logged the processed command"
    assert processed[0]["message_id"] == str(command_id)
    assert processed[0]["tenant_id"] == str(tenant)


async def test_ready_turns_503_with_the_reason_when_postgres_goes_away(
    worker: Worker, database_proxy: TcpProxy
) -> None:
    assert (await worker.ready()).json() == {
        "status": "ready",
        "checks": {"consumers": "ok", "database": "ok", "broker": "ok"},
    }
    await database_proxy.cut()
    response = await worker.wait_ready(expected=503, timeout=20)
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"] == "ok"
    assert "database" in body["checks"]["database"].lower()
    await database_proxy.start()
    await worker.wait_ready(expected=200, timeout=30)
