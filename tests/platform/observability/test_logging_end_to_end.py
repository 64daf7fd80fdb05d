"""Logs, end to end with ``commerce`` processes: every line a JSON object, on stdout and
stderr alike, errors with their exception and the message context, and never a secret -
while the database, the broker or Redis fails, with a secret as its password."""

from pathlib import Path
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from tests.support.database import ProvisionedDatabase
from tests.support.observed import (
    commerce,
    environment,
    get_until,
    json_records,
    logged,
    publish_register_user,
)
from tests.support.proxy import TcpProxy
from tests.support.tansu import free_port
from tests.support.worker import settings_for

pytestmark = pytest.mark.e2e


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
        async with commerce(["run", "all"], environment(settings), tmp_path) as worker:
            await get_until(f"{url}/health", worker)
            await proxy.cut()  # Postgres goes away: readiness, commands and the relay fail
            publish_register_user(worker.env)
            ready = await get_until(
                f"{url}/ready", worker, until=lambda body: "unavailable" in body
            )
            await logged(worker, lambda out: '"exception"' in out and "consumer paused" in out)
    finally:
        await proxy.cut()
    assert secret not in ready
    assert secret not in worker.output(), "a secret reached the logs"
    records = json_records(worker)
    errors = [record for record in records if record.get("level") == "error"]
    assert any("exception" in record for record in errors), "errors carry their exception"
    paused = [record for record in records if record["event"].startswith("consumer paused")]
    assert paused, "the database outage paused the consumer (docs/adr/0023)"
    assert paused[0]["consumer"] == "commerce.identity.register-user"
    assert "message_id" in paused[0], "the message context is bound to the line"


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
    async with commerce(["run", "all"], environment(settings), tmp_path) as worker:
        await logged(worker, lambda output: output.count("start failed; retrying") >= 3)
    assert secret not in worker.output(), "a secret reached the logs"
    failures = [r for r in json_records(worker) if r["event"] == "start failed; retrying"]
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
        async with commerce(["run", "all"], environment(settings), tmp_path) as worker:
            await get_until(f"{url}/ready", worker, until=lambda body: '"ready"' in body)
            await proxy.cut()  # the cache's subscription to invalidations breaks
            await logged(worker, lambda output: "cache degraded" in output)
    finally:
        await proxy.cut()
    assert secret not in worker.output(), "a secret reached the logs"
    degraded = [r for r in json_records(worker) if r["event"].startswith("cache degraded")]
    assert degraded, "the cache said it degraded"
    assert all(record["level"] == "warning" and record["error"] for record in degraded), degraded
