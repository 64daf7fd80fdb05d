"""The operator's view, end to end with ``commerce`` processes: ``/metrics`` after commands,
a retry, a dead letter and cached queries (names, labelled series, and ``promtool check
metrics``), the standalone relay's metrics port, and log
lines - every one a JSON object, on stdout and stderr alike - that never show a secret
while the database, the broker or Redis is failing."""

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID, uuid4

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from commerce.bootstrap import query_client
from commerce.config import BrokerTransport, Settings
from commerce.messages.channels import REGISTER_USER, USER_DIRECTORY
from commerce.messages.commands import RegisterUser
from commerce.messages.envelope import Envelope, HeaderStyle
from commerce.messages.queries_identity import GetUserV1
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.promtool import promtool_check_metrics
from tests.support.proxy import TcpProxy
from tests.support.tansu import free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

COMMERCE = str(Path(sys.executable).parent / "commerce")
SERVICE_METRICS = (
    "commerce_commands_processed_total",
    "commerce_handler_duration_seconds",
    "commerce_inbox_duplicates_total",
    "commerce_retries_total",
    "commerce_dead_letters_total",
    "commerce_relay_published_messages_total",
    "commerce_outbox_backlog_messages",
    "commerce_outbox_oldest_unsent_age_seconds",
    "commerce_projection_lag_seconds",
    "commerce_cache_requests_total",
    "faststream_received_messages_total",
    "faststream_received_processed_messages_duration_seconds",
    "faststream_published_messages_total",
)


@dataclass
class Process:
    """A running ``commerce`` process whose stdout and stderr go to files."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text() + self.stderr.read_text()


def _environment(settings: Settings, **extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    return base | environment_for(settings) | extra


@asynccontextmanager
async def commerce(args: list[str], env: dict[str, str], tmp_path: Path) -> AsyncIterator[Process]:
    stdout, stderr = tmp_path / f"{args[-1]}.out", tmp_path / f"{args[-1]}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([COMMERCE, *args], env=env, stdout=out, stderr=err)
    running = Process(process, env, stdout, stderr)
    try:
        yield running
    finally:
        process.terminate()
        try:  # without blocking the loop: a database proxy may live on it
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the process did not stop within 30 s of SIGTERM")


async def _get(url: str, running: Process, *, until: object = None, timeout: float = 30) -> str:
    """GET ``url`` until it answers (and ``until`` is in the body); returns the body."""
    deadline = asyncio.get_running_loop().time() + timeout
    body = ""
    while asyncio.get_running_loop().time() < deadline:
        assert running.process.poll() is None, running.output()[-3000:]
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                body = (await client.get(url)).text
            if until is None or (callable(until) and until(body)):
                return body
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise AssertionError(f"{url} never answered as expected; last body:\n{body[-3000:]}")


async def _logged(running: Process, until: Callable[[str], bool], *, timeout: float = 60) -> None:
    """Wait until the process's output (stdout and stderr) satisfies ``until``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not until(running.output()):
        assert running.process.poll() is None, running.output()[-3000:]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never logged as expected:\n{running.output()[-3000:]}")
        await asyncio.sleep(0.3)


def _records(running: Process) -> list[dict[str, Any]]:
    """Every line the process wrote, on stdout and on stderr: each must be a JSON object."""
    records = []
    for path in (running.stdout, running.stderr):
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                assert isinstance(record, dict), f"{path.name}: {line}"
                assert "event" in record, f"{path.name}: {line}"
                records.append(record)
    return records


def _publish(env: Mapping[str, str]) -> tuple[str, str]:
    """Publish a ``RegisterUser`` with ``commerce publish``; returns (tenant, user id)."""
    tenant, user = str(uuid4()), str(uuid4())
    payload = {
        "user_id": user,
        "email": f"obs-{uuid4().hex[:10]}@example.com",
        "display_name": "Observed",
        "password": "correct horse battery staple",
    }
    arguments = ["publish", "RegisterUser", "--json", json.dumps(payload), "--tenant", tenant]
    result = subprocess.run(
        [COMMERCE, *arguments],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tenant, user


async def _dead_letter(settings: Settings) -> None:
    """Send ``RegisterUser`` a body that is not JSON: it goes straight to the DLQ."""
    kafka = settings.broker.transport is BrokerTransport.KAFKA
    style = HeaderStyle.KAFKA if kafka else HeaderStyle.RABBIT
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=uuid4(), subject="undecodable"
    )
    headers = envelope.headers(style) | {"content-type": "application/json"}
    probe = await probe_for(settings)
    try:
        await probe.send_command(REGISTER_USER.name, b"\xff{not json", headers, key="undecodable")
    finally:
        await probe.close()


async def _ask_twice(settings: Settings, tenant: str, user: str) -> None:
    """Ask for the user twice: the first answer fills the cache, the second comes from it."""
    async with query_client(settings) as client:
        for _ in range(2):
            await client.ask(GetUserV1(user_id=UUID(user)), tenant_id=UUID(tenant), within=30)


def _value(metrics: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def test_metrics_after_commands_a_retry_a_dead_letter_and_cached_queries_pass_promtool(
    provisioned_database: ProvisionedDatabase, broker_url: str, tmp_path: Path
) -> None:
    """promtool lints the exposition once every labelled series of ours has samples: each
    message's first attempt fails (fault injection) and is retried, a body that is not
    JSON is dead-lettered, and a query is answered from the database and then the cache."""
    settings = settings_for(provisioned_database, broker_url)
    settings.http.port = free_port()
    url = f"http://127.0.0.1:{settings.http.port}"
    consumer = REGISTER_USER.consumer
    env = _environment(settings, COMMERCE_CHAOS__TRANSIENT_FAILURE_RATE="1.0")

    def projected(body: str) -> bool:
        return (
            _value(body, "commerce_commands_processed_total", consumer=consumer, outcome="applied")
            >= 1
            and _value(body, "commerce_relay_published_messages_total") >= 1
            and _value(
                body,
                "commerce_commands_processed_total",
                consumer=USER_DIRECTORY.consumer,
                outcome="applied",
            )
            >= 1
            and _value(body, "commerce_dead_letters_total", reason="undecodable") >= 1
        )

    def cached(body: str) -> bool:
        return all(
            _value(body, "commerce_cache_requests_total", result=result) >= 1
            for result in ("hit", "miss")
        )

    async with commerce(["run", "all"], env, tmp_path) as worker:
        await _get(f"{url}/ready", worker, until=lambda body: '"ready"' in body, timeout=60)
        tenant, user = _publish(worker.env)
        await _dead_letter(settings)
        await _get(f"{url}/metrics", worker, until=projected, timeout=120)
        await _ask_twice(settings, tenant, user)
        body = await _get(f"{url}/metrics", worker, until=cached, timeout=60)
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{url}/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    for name in SERVICE_METRICS:
        assert f"# TYPE {name} " in body, name
    assert _value(body, "commerce_handler_duration_seconds_count", consumer=consumer) >= 1
    assert _value(body, "faststream_published_messages_total", status="success") >= 1
    injected = "commerce.adapters.chaos.InjectedTransientFault"
    assert _value(body, "commerce_retries_total", consumer=consumer, reason=injected) >= 1
    assert _value(body, "commerce_dead_letters_total", consumer=consumer) >= 1
    stream = USER_DIRECTORY.stream.name
    assert _value(body, "commerce_relay_last_published_timestamp_seconds", stream=stream) > 0
    applied = "commerce_projection_last_applied_timestamp_seconds"
    assert _value(body, applied, projection=USER_DIRECTORY.consumer, stream=stream) > 0
    assert promtool_check_metrics(body.encode()) == ""


async def test_a_standalone_relay_serves_metrics_on_its_own_port(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    port = free_port()
    env = _environment(settings, COMMERCE_RELAY__METRICS_PORT=str(port))
    async with commerce(["run", "relay"], env, tmp_path) as relay:
        body = await _get(
            f"http://127.0.0.1:{port}/metrics",
            relay,
            until=lambda body: "\ncommerce_outbox_backlog_messages " in body,
        )
    assert "\ncommerce_outbox_oldest_unsent_age_seconds " in body
    assert promtool_check_metrics(body.encode()) == ""


async def test_log_lines_are_json_and_never_show_a_secret_while_the_database_fails(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    secret = f"s3cr3t-{uuid4().hex[:12]}"
    app = make_url(provisioned_database.app_url)
    proxy = TcpProxy(app.host or "127.0.0.1", app.port or 5432)
    await proxy.start()
    settings = settings_for(provisioned_database, rabbit_url)
    settings.http.port = free_port()
    for field in ("url", "relay_url"):
        role = make_url(getattr(settings.database, field).get_secret_value())
        through_proxy = role.set(password=secret, host="127.0.0.1", port=proxy.port)
        setattr(
            settings.database, field, SecretStr(through_proxy.render_as_string(hide_password=False))
        )
    url = f"http://127.0.0.1:{settings.http.port}"
    try:
        async with commerce(["run", "all"], _environment(settings), tmp_path) as worker:
            await _get(f"{url}/health", worker)
            await proxy.cut()  # Postgres goes away: readiness, commands and the relay fail
            _publish(worker.env)
            ready = await _get(f"{url}/ready", worker, until=lambda body: "unavailable" in body)

            def failures_logged(_: str) -> bool:
                out = worker.stdout.read_text()
                return '"exception"' in out and "transient failure" in out

            await _get(f"{url}/health", worker, until=failures_logged, timeout=30)
    finally:
        await proxy.cut()
    assert secret not in ready
    assert secret not in worker.output(), "a secret reached the logs"
    records = _records(worker)
    errors = [record for record in records if record.get("level") == "error"]
    assert any("exception" in record for record in errors), "errors carry their exception"
    retried = [record for record in records if record["event"].startswith("transient failure")]
    assert retried
    assert retried[0]["consumer"] == "commerce.identity.register-user"
    assert "message_id" in retried[0], "the message context is bound to the line"


def _with_password(url: str, password: str, *, port: int | None = None) -> str:
    """``url`` with ``password`` (and ``port``, if given) in its authority."""
    parts = urlsplit(url)
    user = parts.username or ""
    host = f"{parts.hostname}:{port or parts.port}"
    return parts._replace(netloc=f"{user}:{password}@{host}").geturl()


async def test_no_secret_in_the_logs_while_the_broker_refuses_the_login(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    """The broker URL's password is the secret, and RabbitMQ refuses it: worker and relay
    keep retrying their start, logging each failure with its error."""
    secret = f"s3cr3t-{uuid4().hex[:12]}"
    settings = settings_for(provisioned_database, rabbit_url)
    settings.http.port = free_port()
    settings.broker.url = SecretStr(_with_password(rabbit_url, secret))
    async with commerce(["run", "all"], _environment(settings), tmp_path) as worker:
        await _logged(worker, lambda output: output.count("start failed; retrying") >= 3)
    assert secret not in worker.output(), "a secret reached the logs"
    failures = [r for r in _records(worker) if r["event"] == "start failed; retrying"]
    assert all(record["level"] == "error" for record in failures)
    assert all(record["error"] and record["error_type"] for record in failures), failures


async def test_no_secret_in_the_logs_while_redis_is_cut_off(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, redis_url: str, tmp_path: Path
) -> None:
    """The Redis URL carries the secret as its password; once the worker runs, Redis goes
    away: the read-side cache degrades and says why."""
    secret = f"s3cr3t-{uuid4().hex[:12]}"
    redis = urlsplit(redis_url)
    proxy = TcpProxy(redis.hostname or "127.0.0.1", redis.port or 6379)
    await proxy.start()
    settings = settings_for(provisioned_database, rabbit_url)
    settings.http.port = free_port()
    settings.redis.url = SecretStr(_with_password(redis_url, secret, port=proxy.port))
    url = f"http://127.0.0.1:{settings.http.port}"
    try:
        async with commerce(["run", "all"], _environment(settings), tmp_path) as worker:
            await _get(f"{url}/ready", worker, until=lambda body: '"ready"' in body)
            await proxy.cut()  # the cache's subscription to invalidations breaks
            await _logged(worker, lambda output: "cache degraded" in output)
    finally:
        await proxy.cut()
    assert secret not in worker.output(), "a secret reached the logs"
    degraded = [r for r in _records(worker) if r["event"].startswith("cache degraded")]
    assert degraded, "the cache said it degraded"
    assert all(record["level"] == "warning" and record["error"] for record in degraded), degraded
