"""``commerce outbox status | list-parked | retry-parked`` on real Postgres (typer's CliRunner).

The module gets a database of its own, so the counts are exactly the rows each test
writes (as the superuser, with the timestamps the test needs).
"""

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import delete, select
from typer.testing import CliRunner, Result

from commerce.bootstrap.service import build_service
from commerce.entrypoints.cli import common
from commerce.entrypoints.cli.main import app
from commerce.identity.messages.channels import USERS
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.postgres.engine import create_engine
from commerce.platform.postgres.provisioning import drop_database
from commerce.platform.postgres.tables import outbox
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase, provision_and_migrate, unique_database_name
from tests.support.worker import environment_for, running_relay, settings_for

pytestmark = pytest.mark.integration

UNUSED_BROKER = "amqp://guest:guest@127.0.0.1:5672/"


@pytest.fixture(scope="module")
async def outbox_database(postgres_admin_url: str) -> AsyncIterator[ProvisionedDatabase]:
    """A database of this module's own."""
    name = unique_database_name()
    try:
        yield await provision_and_migrate(postgres_admin_url, name)
    finally:
        await drop_database(postgres_admin_url, name)


async def _write(database: ProvisionedDatabase, *rows: dict[str, Any]) -> list[int]:
    """Empty the outbox, then insert ``rows`` as the superuser; their positions."""
    engine = create_engine(database.admin_url, pool_size=1)
    try:
        async with engine.begin() as connection:
            await connection.execute(delete(outbox))
            if not rows:
                return []
            result = await connection.execute(
                outbox.insert().returning(outbox.c.position), list(rows)
            )
            return [row.position for row in result]
    finally:
        await engine.dispose()


async def _state(database: ProvisionedDatabase, position: int) -> tuple[Any, Any, Any]:
    engine = create_engine(database.admin_url, pool_size=1)
    try:
        async with engine.connect() as connection:
            query = select(outbox.c.sent_at, outbox.c.failed_at, outbox.c.last_error)
            row = (await connection.execute(query.where(outbox.c.position == position))).one()
            return row.sent_at, row.failed_at, row.last_error
    finally:
        await engine.dispose()


async def _marked_sent(database: ProvisionedDatabase, position: int) -> Any:
    """The row's ``sent_at`` once the relay set it (``None`` after 10 s)."""
    for _ in range(200):
        sent_at, _, _ = await _state(database, position)
        if sent_at is not None:
            return sent_at
        await asyncio.sleep(0.05)
    return None


def _row(marker: str, **columns: Any) -> dict[str, Any]:
    """A valid user event row (``marker`` in its payload), changed by ``columns``."""
    tenant, user = uuid4(), uuid4()
    envelope = Envelope.new(
        type="commerce.identity.UserRegistered.v1",
        source="/tests",
        tenant_id=tenant,
        subject=str(user),
    )
    return {
        "message_id": envelope.id,
        "tenant_id": tenant,
        "aggregate_type": USERS.aggregate_type,
        "aggregate_id": str(user),
        "aggregate_version": 1,
        "event_type": envelope.type,
        "stream": USERS.name,
        "payload": {"user_id": str(user), "email": f"{marker}@example.com"},
        "headers": envelope.headers(HeaderStyle.RABBIT),
        "occurred_at": datetime.now(UTC),
        "created_at": datetime.now(UTC),
        "failed_at": None,
        "last_error": None,
        "sent_at": None,
    } | columns


class Outbox:
    """``commerce outbox ...`` with this module's settings."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str) -> Result:
        return CliRunner().invoke(app, ["outbox", *args], env=self.env)

    def json(self, *args: str) -> Any:
        """The ``--json`` output of a command that must succeed."""
        result = self(*args, "--json")
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)


@pytest.fixture
def run(outbox_database: ProvisionedDatabase, monkeypatch: pytest.MonkeyPatch) -> Outbox:
    # Logging set-up would bind the root logger to the runner's captured stdout.
    monkeypatch.setattr(common, "configure_logging_from", lambda settings: None)
    return Outbox(environment_for(settings_for(outbox_database, UNUSED_BROKER)))


@pytest.fixture
def parked_rows(outbox_database: ProvisionedDatabase) -> list[int]:
    """Two unsent rows (one 90 s old), two parked, two sent (one past the 24 h retention)."""
    now = datetime.now(UTC)
    rows = (
        _row("old", created_at=now - timedelta(seconds=90)),
        _row("new"),
        _row("parked-1", failed_at=now, last_error="EnvelopeError: missing 'specversion'"),
        _row("parked-2", failed_at=now, last_error="ValueError: bad"),
        _row("sent-long-ago", sent_at=now - timedelta(days=2)),
        _row("sent-now", sent_at=now),
    )
    positions = asyncio.run(_write(outbox_database, *rows))
    return positions[2:4]


def test_status_counts_the_backlog_the_parked_and_the_sent_rows(
    run: Outbox, parked_rows: list[int]
) -> None:
    state = run.json("status")
    assert state.pop("oldest_unsent_age") >= 90
    assert state == {"backlog": 2, "parked": 2, "sent": 2, "due_for_purge": 1}
    text = run("status")
    assert text.exit_code == 0, text.output
    assert "backlog           2 row(s) not yet published" in text.stdout
    assert "parked            2 row(s) the relay could not read" in text.stdout
    assert "sent, kept        2 row(s), 1 due for purge" in text.stdout


def test_an_empty_outbox_has_no_oldest_row(
    run: Outbox, outbox_database: ProvisionedDatabase
) -> None:
    asyncio.run(_write(outbox_database))
    assert run.json("status") == {
        "backlog": 0,
        "oldest_unsent_age": None,
        "parked": 0,
        "sent": 0,
        "due_for_purge": 0,
    }
    assert "oldest unsent     - ago" in run("status").stdout


def test_list_parked_shows_each_parked_row_and_its_error(
    run: Outbox, parked_rows: list[int]
) -> None:
    rows = run.json("list-parked")
    assert [row["position"] for row in rows] == parked_rows
    assert rows[0]["last_error"] == "EnvelopeError: missing 'specversion'"
    assert rows[0]["stream"] == USERS.name
    text = run("list-parked", "--limit", "1")
    assert f"{parked_rows[0]}  commerce.identity.UserRegistered.v1" in text.stdout
    assert "EnvelopeError: missing 'specversion'" in text.stdout
    assert "ValueError: bad" not in text.stdout, "--limit 1"


def test_retry_parked_clears_the_failure_of_the_rows_asked_for_only(
    run: Outbox, parked_rows: list[int], outbox_database: ProvisionedDatabase
) -> None:
    first, second = parked_rows
    retried = run("retry-parked", "--position", str(first))
    assert retried.exit_code == 0, retried.output
    assert f"retried 1 parked row(s): {first}\n" in retried.stdout
    assert asyncio.run(_state(outbox_database, first)) == (None, None, None)
    assert asyncio.run(_state(outbox_database, second))[1] is not None
    state = run.json("status")
    assert (state["backlog"], state["parked"]) == (3, 1)

    again = run("retry-parked", "--position", str(first), "--position", str(second))
    assert again.exit_code == 1
    assert f"error: outbox row(s) {first} not parked" in again.output
    assert asyncio.run(_state(outbox_database, second))[1] is not None, "all or nothing"

    rest = run("retry-parked", "--all")
    assert rest.exit_code == 0, rest.output
    assert f"retried 1 parked row(s): {second}\n" in rest.stdout
    none_left = run("retry-parked", "--all")
    assert none_left.exit_code == 1
    assert "error: no parked outbox rows" in none_left.output


@pytest.mark.parametrize("arguments", [(), ("--all", "--position", "1")], ids=["neither", "both"])
def test_retry_parked_needs_positions_or_all(run: Outbox, arguments: tuple[str, ...]) -> None:
    refused = run("retry-parked", *arguments)
    assert refused.exit_code == 2
    assert "give --position N (repeatable) or --all" in refused.output


def test_an_unreachable_database_is_a_clear_error(run: Outbox) -> None:
    unreachable = "postgresql+asyncpg://commerce_relay:commerce_relay@127.0.0.1:1/commerce"
    refused = CliRunner().invoke(
        app, ["outbox", "status"], env=run.env | {"COMMERCE_DATABASE__RELAY_URL": unreachable}
    )
    assert refused.exit_code == 1
    assert refused.output.startswith("error: database unreachable:")


async def test_a_retried_row_is_published_by_the_relay(
    outbox_database: ProvisionedDatabase, rabbit_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = uuid4().hex
    settings = settings_for(outbox_database, rabbit_url)
    now = datetime.now(UTC)
    [position] = await _write(outbox_database, _row(marker, failed_at=now, last_error="x"))
    monkeypatch.setattr(common, "configure_logging_from", lambda settings: None)
    probe = await probe_for(settings)
    service = build_service(settings)
    try:
        await probe.watch(USERS.name, stream=True)
        await service.transport.broker.start()
        async with running_relay(service):
            retried = await asyncio.to_thread(
                Outbox(environment_for(settings)), "retry-parked", "--position", str(position)
            )
            assert retried.exit_code == 0, retried.output
            published = await probe.collect(USERS.name, lambda m: marker.encode() in m.body, 1)
            sent_at = await _marked_sent(outbox_database, position)
    finally:
        await service.transport.broker.stop()
        await service.close()
        await probe.close()
    assert len(published) == 1
    assert sent_at is not None, "the relay marked it sent"
