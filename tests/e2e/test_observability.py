"""The operator's view, end to end with ``commerce`` processes: ``/metrics`` after a command
(names, and ``promtool check metrics``), the standalone relay's metrics port, and JSON log
lines that never show a secret while the database is failing."""

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from commerce.config import Settings
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


def _publish(env: Mapping[str, str]) -> None:
    payload = {
        "user_id": str(uuid4()),
        "email": f"obs-{uuid4().hex[:10]}@example.com",
        "display_name": "Observed",
        "password": "correct horse battery staple",
    }
    arguments = ["publish", "RegisterUser", "--json", json.dumps(payload), "--tenant", str(uuid4())]
    result = subprocess.run(
        [COMMERCE, *arguments],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def _value(metrics: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    total = 0.0
    for line in metrics.splitlines():
        match = re.fullmatch(rf"{name}(?:\{{(.*)\}})? (\S+)", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


async def test_metrics_after_a_command_pass_promtool(
    provisioned_database: ProvisionedDatabase, broker_url: str, tmp_path: Path
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    settings.http.port = free_port()
    url = f"http://127.0.0.1:{settings.http.port}"
    consumer = "commerce.identity.register-user"

    def processed(body: str) -> bool:
        return (
            _value(body, "commerce_commands_processed_total", consumer=consumer, outcome="applied")
            >= 1
            and _value(body, "commerce_relay_published_messages_total") >= 1
        )

    async with commerce(["run", "all"], _environment(settings), tmp_path) as worker:
        await _get(f"{url}/ready", worker, until=lambda body: '"ready"' in body)
        _publish(worker.env)
        body = await _get(f"{url}/metrics", worker, until=processed)
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{url}/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    for name in SERVICE_METRICS:
        assert f"# TYPE {name} " in body, name
    assert _value(body, "commerce_handler_duration_seconds_count", consumer=consumer) >= 1
    assert _value(body, "faststream_published_messages_total", status="success") >= 1
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
    lines = [line for line in worker.stdout.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(record, dict) and "event" in record for record in records)
    errors = [record for record in records if record.get("level") == "error"]
    assert any("exception" in record for record in errors), "errors carry their exception"
    retried = [record for record in records if record["event"].startswith("transient failure")]
    assert retried
    assert retried[0]["consumer"] == "commerce.identity.register-user"
    assert "message_id" in retried[0], "the message context is bound to the line"
