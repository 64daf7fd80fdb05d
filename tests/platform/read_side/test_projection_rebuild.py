"""``commerce projections rebuild``: the read model is refilled from its source into a fresh
table and swapped in atomically; events committed meanwhile are not lost; the new table
keeps row-level security, grants and index names; readers answer throughout."""

import asyncio
import contextlib
import re
import warnings
from datetime import UTC, datetime
from pathlib import Path
from uuid import uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, insert, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine
from typer.testing import CliRunner

from commerce.entrypoints.cli import common
from commerce.entrypoints.cli.main import app
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.specification import Always
from commerce.platform.postgres.tables import catalog_items, metadata
from commerce.platform.read_side.projection_rebuild import RebuildBusyError, rebuild
from commerce.registry.projections import REBUILDABLE
from commerce.registry.read_queries import SqlReadSessionFactory
from tests.support.database import ProvisionedDatabase
from tests.support.read_models import append_orders, order_history, rows_of
from tests.support.terminal import run_on_terminal
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)


async def _indexes(engine: AsyncEngine, table: str) -> list[str]:
    async with engine.connect() as connection:
        result = await connection.execute(
            text("SELECT indexname FROM pg_indexes WHERE tablename = :t ORDER BY 1"), {"t": table}
        )
        return list(result.scalars())


def _diff(connection: Connection) -> list[object]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Did not recognize type 'xid8'", SAWarning)
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


async def test_order_summaries_are_rebuilt_from_the_event_store_and_swapped_in(
    app_engine: AsyncEngine, owner_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    tenant, other = TenantId(uuid4()), TenantId(uuid4())
    customer = uuid4()
    endings = ["confirmed", "cancelled", "shipped", "placed"]
    histories = [order_history(tenant, uuid4(), customer, at=AT, ending=e) for e in endings]
    await append_orders(app_engine, tenant, histories)
    await append_orders(app_engine, other, [order_history(other, uuid4(), uuid4(), at=AT)])
    indexes_before = await _indexes(admin_engine, "order_summaries")
    seen: list[tuple[int, int]] = []

    report = await rebuild(
        owner_engine, REBUILDABLE["order-summaries"], progress=lambda d, t: seen.append((d, t))
    )

    assert report.projection == "order-summaries"
    assert report.swap_attempts == 1
    assert seen, "the progress bar moved"
    assert seen[-1][0] == seen[-1][1], "the progress bar reached its end"
    rows = await rows_of(app_engine, tenant, "order_summaries", "placed_at, order_id")
    assert sorted(str(r["status"]) for r in rows) == sorted(
        ["confirmed", "cancelled", "shipped", "placed"]
    )
    assert {r["customer_id"] for r in rows} == {customer}, "only this tenant's rows (RLS)"
    assert {r["total"] for r in rows} == {600}
    assert await _indexes(admin_engine, "order_summaries") == indexes_before
    async with admin_engine.connect() as connection:
        assert await connection.run_sync(_diff) == []
        forced = await connection.scalar(
            text("SELECT relforcerowsecurity FROM pg_class WHERE relname = 'order_summaries'")
        )
        assert forced
        assert not await connection.scalar(text("SELECT to_regclass('order_summaries_rebuild')"))
    async with app_engine.begin() as connection:  # the app role's grants came along
        await connection.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant)}
        )
        await connection.execute(text("UPDATE order_summaries SET status = status"))


async def test_events_committed_while_the_swap_waits_are_in_the_new_table(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    await append_orders(app_engine, tenant, [order_history(tenant, uuid4(), uuid4(), at=AT)])
    late_order = uuid4()
    late = order_history(tenant, late_order, uuid4(), at=AT, ending="shipped")

    async with app_engine.connect() as blocker:  # a live consumer's transaction in flight
        await blocker.begin()
        await blocker.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.value)}
        )
        await blocker.execute(text("UPDATE order_summaries SET status = status"))
        task = asyncio.create_task(
            rebuild(
                owner_engine,
                REBUILDABLE["order-summaries"],
                lock_timeout=0.3,
                swap_attempts=100,
            )
        )
        await _until_waiting_on_lock(owner_engine)
        await append_orders(app_engine, tenant, [late])  # committed while the swap waits
        await asyncio.sleep(0.5)
        await blocker.commit()
        report = await asyncio.wait_for(task, 60)
    assert report.swap_attempts >= 1
    rows = await rows_of(app_engine, tenant, "order_summaries", "order_id")
    assert {r["order_id"]: r["status"] for r in rows}[late_order] == "shipped"


async def _until_waiting_on_lock(engine: AsyncEngine, timeout: float = 30) -> None:
    query = text(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation"
        " WHERE c.relname = 'order_summaries' AND NOT l.granted"
    )
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        async with engine.connect() as connection:
            if await connection.scalar(query):
                return
        assert asyncio.get_running_loop().time() < deadline, "the swap never waited"
        await asyncio.sleep(0.05)


async def test_readers_answer_throughout_and_a_second_rebuild_is_refused(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    customer = uuid4()
    histories = [order_history(tenant, uuid4(), customer, at=AT, lines=1) for _ in range(300)]
    await append_orders(app_engine, tenant, histories)
    await rebuild(owner_engine, REBUILDABLE["order-summaries"])
    sessions = SqlReadSessionFactory(app_engine)
    stop = asyncio.Event()
    counts: list[int] = []

    async def read() -> None:
        while not stop.is_set():
            async with sessions(tenant) as models:
                counts.append(
                    len(
                        await models.orders.of_customer(
                            customer, before=None, limit=500, where=Always()
                        )
                    )
                )

    reader = asyncio.create_task(read())
    running = asyncio.create_task(
        rebuild(owner_engine, REBUILDABLE["order-summaries"], batch_size=50)
    )
    await asyncio.sleep(0.05)
    with contextlib.suppress(RebuildBusyError):
        await rebuild(owner_engine, REBUILDABLE["order-summaries"])
        if not running.done():
            pytest.fail("a second rebuild ran while the first was running")
    await running
    stop.set()
    await reader
    assert counts, "the reader ran"
    assert set(counts) == {300}, "never an empty or partial answer"


async def test_item_availability_is_rebuilt_from_the_catalogue(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    tenant = TenantId(uuid4())
    items = [uuid4() for _ in range(3)]
    async with app_engine.begin() as connection:
        await connection.execute(
            text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant.value)}
        )
        await connection.execute(
            insert(catalog_items),
            [
                {
                    "tenant_id": tenant.value,
                    "id": item,
                    "name": f"item {n}",
                    "price_amount": 100 + n,
                    "currency": "EUR",
                    "stock": n,
                    "status": "active",
                    "version": 3,
                    "created_at": AT,
                    "updated_at": AT,
                }
                for n, item in enumerate(items)
            ],
        )
    await rebuild(owner_engine, REBUILDABLE["item-availability"])
    rows = await rows_of(app_engine, tenant, "item_availability", "price")
    assert [(r["item_id"], r["stock"], r["version"]) for r in rows] == [
        (item, n, 3) for n, item in enumerate(items)
    ]


def test_the_cli_rebuilds_with_a_progress_bar(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    redis_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(common, "configure_logging_from", lambda settings: None)
    settings = settings_for(provisioned_database, rabbit_url)
    env = environment_for(settings) | {"COMMERCE_REDIS__URL": redis_url}
    result = CliRunner().invoke(app, ["projections", "rebuild", "revenue"], env=env)
    assert result.exit_code == 0, result.output
    assert "swapped in" in result.stdout
    unknown = CliRunner().invoke(app, ["projections", "rebuild", "nope"], env=env)
    assert unknown.exit_code == 2


async def test_the_cli_shows_the_rebuilds_progress_on_a_terminal(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    redis_url: str,
    app_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    """``commerce projections rebuild`` over more events than one batch (2,000) draws its
    bar on the operator's terminal: it moves forward only, and ends full at 100 %."""
    tenant = TenantId(uuid4())
    histories = [order_history(tenant, uuid4(), uuid4(), at=AT) for _ in range(600)]
    assert await append_orders(app_engine, tenant, histories) == 2_400
    env = environment_for(settings_for(provisioned_database, rabbit_url))
    env["COMMERCE_REDIS__URL"] = redis_url

    code, stdout, terminal = await asyncio.to_thread(
        run_on_terminal, env, tmp_path, "projections", "rebuild", "revenue"
    )

    assert code == 0, terminal
    assert "swapped in" in stdout
    bars = re.findall(r"rebuilding revenue\s+\[([#-]+)\]\s+(\d+)%", terminal)
    percents = [int(percent) for _, percent in bars]
    assert len(set(percents)) >= 2, f"the bar moved: {terminal[-500:]!r}"
    assert percents == sorted(percents), "the bar only moves forward"
    assert percents[-1] == 100
    assert all(set(bar) == {"#"} for bar, percent in bars if percent == 100)
