"""The reliability acceptance drill: 5,000 commands with duplicates, garbage, schema
errors and transient handler failures, while the worker is SIGKILLed twice, the relay
once, Postgres restarts and the broker restarts. Afterwards every valid command was
applied exactly once, every bad one is in the dead-letter store with its fault, every
caused event was published in version order per aggregate, and nothing is left unacked.

Runs on RabbitMQ (restarted with ``rabbitmqctl stop_app``/``start_app``) and on Kafka (a
Tansu broker process whose data lives in a local S3 server, so a restart keeps it).
"""

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from functools import partial
from pathlib import Path
from typing import NoReturn
from uuid import UUID

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.adapters.database import create_engine, tenant_transaction
from commerce.adapters.orm import inbox, outbox, users
from commerce.config import Settings
from commerce.messages.channels import REGISTER_USER, USERS
from commerce.messages.envelope import HeaderStyle
from tests.support.database import ProvisionedDatabase
from tests.support.drill import DrillBroker, RabbitDrill, plan_drill, wait_ready
from tests.support.kafka_drill import KafkaDrill
from tests.support.processes import ServiceProcesses
from tests.support.s3 import S3Error, S3Server
from tests.support.tansu import TansuBroker, TansuError, free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

TOTAL = 5_000
DUPLICATE_SHARE, UNDECODABLE_SHARE, INVALID_SHARE = 0.05, 0.01, 0.01
TRANSIENT_RATE = 0.02
BACKLOG, GATE_EVERY = 500, 100  # at most 500 valid commands ahead of the worker, checked
PROCESSED = '"command processed"'  # the worker's log line for each handled message


async def _wait_for(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, poll: float = 0.5
) -> None:
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if await check():
            # the drill's timeline, shown with a failure (which phase ate the time)
            print(f"drill: {what} after {time.monotonic() - started:.1f} s", file=sys.stderr)
            return
        await asyncio.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _cannot(reason: str) -> NoReturn:
    """Skip on a developer's machine; in CI the drill must run, so fail."""
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


def _restart_postgres(admin_url: str) -> None:
    host = make_url(admin_url).host
    if host not in ("127.0.0.1", "localhost") or shutil.which("pg_ctlcluster") is None:
        _cannot(f"cannot restart PostgreSQL at {host}: not a local pg_ctlcluster cluster")
    version = next(Path("/etc/postgresql").iterdir()).name
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
        check=True,
        timeout=120,
    )


@pytest.fixture(params=["rabbit", "kafka"])
def drill_broker(request: pytest.FixtureRequest) -> Iterator[DrillBroker]:
    """The broker of the drill: RabbitMQ (restarted with rabbitmqctl) or Kafka (Tansu
    with its data in a local S3 server, restarted as a process)."""
    if request.param == "rabbit":
        url = str(request.getfixturevalue("rabbit_url"))
        host = make_url(url.replace("amqp://", "postgresql://")).host
        if host not in ("127.0.0.1", "localhost") or shutil.which("rabbitmqctl") is None:
            _cannot(f"cannot restart RabbitMQ at {host}: rabbitmqctl needs a local broker")
        yield RabbitDrill(url)
        return
    with ExitStack() as stack:
        try:
            s3 = stack.enter_context(S3Server())
            tansu = stack.enter_context(TansuBroker.durable(s3))
        except (S3Error, TansuError) as error:
            _cannot(f"cannot start a Tansu broker on local S3 storage: {error}")
        yield KafkaDrill(tansu)


async def _wait_logged(services: ServiceProcesses, name: str, line: str, times: int) -> None:
    """Until ``name``'s logs hold ``line`` ``times`` times (once per start)."""

    async def logged() -> bool:
        return services.logs(name).count(line) >= times

    await _wait_for(logged, 60, f"{name} start #{times}", poll=0.2)


def _processed(services: ServiceProcesses) -> int:
    """Commands the worker's runs so far processed (their log lines)."""
    lines = services.logs("worker").splitlines()
    return sum(PROCESSED in line and REGISTER_USER.consumer in line for line in lines)


async def _more(services: ServiceProcesses, than: int) -> bool:
    """Whether the worker has processed more than ``than`` commands."""
    return _processed(services) > than


async def _applied(engine: AsyncEngine, tenant: UUID, at_least: int) -> bool:
    """Whether ``tenant`` has ``at_least`` users (false while the database is down)."""
    try:
        async with tenant_transaction(engine, tenant) as connection:
            count = await connection.scalar(select(func.count()).select_from(users))
    except (SQLAlchemyError, OSError):
        return False
    return (count or 0) >= at_least


@pytest.mark.timeout(900)
async def test_every_valid_command_applied_once_through_crashes_and_restarts(
    provisioned_database: ProvisionedDatabase,
    postgres_admin_url: str,
    drill_broker: DrillBroker,
    tmp_path: Path,
) -> None:
    broker = drill_broker
    settings: Settings = settings_for(provisioned_database, broker.url)
    settings.chaos.transient_failure_rate = TRANSIENT_RATE
    settings.http.port = free_port()
    style = HeaderStyle.KAFKA if broker.url.startswith("kafka") else HeaderStyle.RABBIT
    drill = plan_drill(
        style,
        total=TOTAL,
        duplicates=int(TOTAL * DUPLICATE_SHARE),
        undecodable=int(TOTAL * UNDECODABLE_SHARE),
        invalid=int(TOTAL * INVALID_SHARE),
    )
    app_engine = create_engine(provisioned_database.app_url, pool_size=2)
    owner_engine = create_engine(provisioned_database.owner_url, pool_size=1)
    try:
        await broker.prepare(settings)
        with ServiceProcesses(environment_for(settings), tmp_path) as services:
            services.start("worker")
            services.start("relay")
            await wait_ready(settings)
            await _wait_logged(services, "relay", "relay started", 1)

            async def restart_worker() -> None:
                """SIGKILL the worker while it works; back once the new one works."""
                before = _processed(services)
                await _wait_for(lambda: _more(services, before), 60, "the worker to work")
                services.kill("worker")
                killed_at = _processed(services)
                services.start("worker")
                await wait_ready(settings)
                await _wait_for(lambda: _more(services, killed_at), 120, "the new worker")

            async def restart_broker() -> None:
                """Restart the broker once every consumer of the worker has joined."""

                async def consuming() -> bool:
                    return await broker.consuming(settings)

                await _wait_for(consuming, 240, "the worker's consumers", poll=2)
                await broker.restart()

            async def restart_relay() -> None:
                services.kill("relay")
                services.start("relay")
                await _wait_logged(services, "relay", "relay started", 2)

            async def restart_postgres() -> None:
                await asyncio.to_thread(_restart_postgres, postgres_admin_url)

            # One fault at a time, each once the service is back from the previous one; a
            # process starting while a dependency is missing is covered separately
            # (tests/e2e/test_startup_resilience.py, docs/adr/0015).
            faults: dict[int, Callable[[], Awaitable[None]]] = {
                TOTAL * 20 // 100: restart_worker,
                TOTAL * 35 // 100: restart_relay,
                TOTAL * 45 // 100: restart_worker,
                TOTAL * 60 // 100: restart_postgres,
                TOTAL * 80 // 100: restart_broker,
            }
            sent: set[str] = set()  # aggregate ids of the valid commands published so far
            for index, (body, headers, key) in enumerate(drill.messages):
                if index in faults:
                    await faults[index]()
                if index % GATE_EVERY == 0:  # steady traffic: the worker at most BACKLOG behind
                    floor = len(sent) - BACKLOG
                    caught_up = partial(_applied, app_engine, drill.tenant, floor)
                    await _wait_for(caught_up, 180, f"{floor} users (backlog)")
                await broker.publish(settings, body, headers, key)
                if not key.startswith("bad-"):
                    sent.add(key)

            async def applied() -> bool:
                return await _applied(app_engine, drill.tenant, len(drill.valid))

            await _wait_for(applied, 240, f"{len(drill.valid)} users")

            async def archived() -> bool:
                async with owner_engine.connect() as connection:
                    count = await connection.scalar(
                        text(
                            "SELECT count(DISTINCT message_id) FROM dead_letters"
                            " WHERE message_id = ANY(:ids)"
                        ),
                        {"ids": list(drill.bad)},
                    )
                return bool(count == len(drill.bad))

            await _wait_for(archived, 120, f"{len(drill.bad)} dead letters archived")

            async def drained() -> bool:  # projections too: every consumer caught up
                return await broker.unfinished(settings) == {}

            await _wait_for(drained, 300, "every consumer to catch up", poll=2)
            published = await broker.collect_events(
                settings, set(map(str, drill.valid.values())), str(drill.tenant)
            )
            services.stop("worker")
            services.stop("relay")
            logs = services.logs("worker")
        leftovers = await broker.unfinished(settings)
    finally:
        await broker.close()

    async with tenant_transaction(app_engine, drill.tenant) as connection:
        user_ids = set((await connection.scalars(select(users.c.id))).all())
        inbox_rows = await connection.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.consumer == REGISTER_USER.consumer)
        )
    async with tenant_transaction(owner_engine, drill.tenant) as connection:
        caused = {
            str(row.message_id): row.aggregate_version
            for row in await connection.execute(
                select(outbox.c.message_id, outbox.c.aggregate_version).where(
                    outbox.c.stream == USERS.name
                )
            )
        }
    async with owner_engine.connect() as connection:
        dead = (
            await connection.execute(
                text(
                    "SELECT DISTINCT ON (message_id) message_id, reason, consumer, channel,"
                    " attempts FROM dead_letters WHERE message_id = ANY(:ids)"
                ),
                {"ids": list(drill.bad)},
            )
        ).all()
    await app_engine.dispose()
    await owner_engine.dispose()

    assert user_ids == set(drill.valid.values()), "every valid command applied"
    assert inbox_rows == len(drill.valid), "each exactly once: one inbox row per command"
    assert {row.message_id: row.reason for row in dead} == drill.bad
    assert all(row.consumer == REGISTER_USER.consumer for row in dead)
    assert all(row.channel == REGISTER_USER.name and row.attempts >= 1 for row in dead)
    assert len(caused) == len(drill.valid), "one event caused per applied command"
    delivered = {event_id for ids in published.values() for event_id in ids}
    assert delivered == caused.keys(), "every caused event published (at least once)"
    out_of_order = {
        subject: versions
        for subject, ids in published.items()
        if (versions := [caused[event_id] for event_id in dict.fromkeys(ids)]) != sorted(versions)
    }
    assert out_of_order == {}, "each aggregate's events published in version order"
    assert leftovers == {}, f"messages left unacknowledged: {leftovers}"
    assert "injected transient fault" in logs, "the drill really injected transient failures"
