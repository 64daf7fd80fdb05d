"""Rebuilding a projection of 100,000 events while readers keep answering (issue #4).

Opt-in (``uv run pytest tests/performance/test_projection_rebuild_bench.py -m performance
-s``). A fresh database gets 100,000 order events (20,000 orders of 5 events, 10 tenants)
in its event store; ``order-summaries`` is built once, then rebuilt while

* readers ask ``ListCustomerOrders`` through the real query path (``QueryService``, with a
  cache that never hits, so every answer reads the table) as fast as they can, checking
  every answer is complete (the customer's known order count), and
* a writer appends new orders to the event store during the first seconds of the rebuild
  (they must all be in the swapped-in table: the catch-up passes and the swap's delta).

The timed rebuild is the operators' command, ``commerce projections rebuild
order-summaries``, in its own process (as in production: the readers' event loop is not
the rebuild's).

It prints the figures and writes them as JSON to ``COMMERCE_REBUILD_BENCH_OUT`` (default: a
temporary file); ``docs/performance.md`` ("Projection rebuild under read load") quotes them.
"""

import asyncio
import itertools
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.orders.messages.queries import CustomerOrdersV1, ListCustomerOrdersV1
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.engine import create_engine
from commerce.platform.postgres.provisioning import drop_database
from commerce.platform.postgres.tables import projection_rebuilds
from commerce.platform.read_side.projection_rebuild import rebuild
from commerce.platform.read_side.query_service import QueryService
from commerce.registry.projections import REBUILDABLE
from commerce.registry.read_queries import SqlReadSessionFactory
from tests.support.database import provision_and_migrate, unique_database_name
from tests.support.read_models import append_orders, order_history, rows_of, shuffled_days
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.performance

TENANTS = 10
CUSTOMERS_PER_TENANT = 200
ORDERS = 20_000  # x 5 events = 100,000 events
READERS = 2
WRITE_SECONDS = 4.0
COMMERCE = str(Path(sys.executable).parent / "commerce")


class NoCache:
    """A cache that always loads: every answer reads the read model."""

    async def get_or_load(
        self, key: str, tags: Sequence[str], loader: Callable[[], Awaitable[bytes]]
    ) -> bytes:
        return await loader()

    async def invalidate(self, tags: Iterable[str]) -> None:
        return None


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@pytest.mark.timeout(1800)
async def test_rebuild_of_100k_events_with_readers_answering_throughout(
    postgres_admin_url: str, redis_url: str, tmp_path: Path
) -> None:
    name = unique_database_name()
    database = await provision_and_migrate(postgres_admin_url, name)
    app = create_engine(database.app_url, pool_size=READERS + 4)
    owner = create_engine(database.owner_url, pool_size=4)
    env = environment_for(settings_for(database, "amqp://guest:guest@127.0.0.1:5672/"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")} | env
    env |= {"COMMERCE_REDIS__URL": redis_url, "COMMERCE_LOG__LEVEL": "WARNING"}
    try:
        figures = await _measure(app, owner, env)
    finally:
        await app.dispose()
        await owner.dispose()
        await drop_database(postgres_admin_url, name)
    out = Path(os.environ.get("COMMERCE_REBUILD_BENCH_OUT") or tmp_path / "rebuild.json")
    out.write_text(json.dumps(figures, indent=2) + "\n")
    print(json.dumps(figures, indent=2))
    assert figures["reader_errors"] == 0
    assert figures["reader_incomplete_answers"] == 0
    assert figures["late_orders_missing"] == 0


async def _rebuild_command(env: dict[str, str]) -> tuple[float, str]:
    """Run ``commerce projections rebuild order-summaries``; (seconds, its last line)."""
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        COMMERCE,
        "projections",
        "rebuild",
        "order-summaries",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode == 0, err.decode()[-2000:]
    return time.perf_counter() - started, out.decode().strip().splitlines()[-1]


async def _measure(app: AsyncEngine, owner: AsyncEngine, env: dict[str, str]) -> dict[str, object]:
    tenants = [TenantId(uuid4()) for _ in range(TENANTS)]
    customers = {t: [uuid4() for _ in range(CUSTOMERS_PER_TENANT)] for t in tenants}
    expected: dict[tuple[TenantId, UUID], int] = {}
    days = shuffled_days(ORDERS)
    seed_started = time.perf_counter()
    per_tenant = ORDERS // TENANTS
    events = 0
    for n, tenant in enumerate(tenants):
        histories = []
        for i in range(per_tenant):
            customer = customers[tenant][i % CUSTOMERS_PER_TENANT]
            expected[tenant, customer] = expected.get((tenant, customer), 0) + 1
            at = days[n * per_tenant + i]
            histories.append(order_history(tenant, uuid4(), customer, at=at, ending="shipped"))
        events += await append_orders(app, tenant, histories)
    seed_seconds = time.perf_counter() - seed_started
    target = REBUILDABLE["order-summaries"]
    cold = await rebuild(owner, target)

    queries = QueryService(NoCache(), SqlReadSessionFactory(app))
    stop = asyncio.Event()
    latencies: list[tuple[float, float]] = []  # (when, seconds)
    errors: list[str] = []
    incomplete = 0
    keys = list(expected)

    async def reader(offset: int) -> None:
        nonlocal incomplete
        n = offset
        while not stop.is_set():
            tenant, customer = keys[n % len(keys)]
            n += READERS * 7
            started = time.perf_counter()
            try:
                answered = await queries.answer(
                    tenant, ListCustomerOrdersV1(customer_id=customer, limit=100)
                )
                body = answered.unwrap()
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
                continue
            latencies.append((started, time.perf_counter() - started))
            if len(CustomerOrdersV1.model_validate_json(body).orders) < expected[tenant, customer]:
                incomplete += 1

    late: list[tuple[TenantId, UUID]] = []
    writing_done = asyncio.Event()

    async def writer() -> None:
        while not writing_done.is_set():
            tenant = tenants[len(late) % TENANTS]
            order = uuid4()
            at = datetime.now(UTC)
            await append_orders(app, tenant, [order_history(tenant, order, uuid4(), at=at)])
            late.append((tenant, order))
            await asyncio.sleep(0.02)

    readers = [asyncio.create_task(reader(k)) for k in range(READERS)]
    await asyncio.sleep(2.0)  # readers' baseline before the rebuild starts
    rebuild_started = time.perf_counter()
    writing = asyncio.create_task(writer())
    asyncio.get_running_loop().call_later(WRITE_SECONDS, writing_done.set)
    command_seconds, summary = await _rebuild_command(env)
    rebuild_ended = time.perf_counter()
    writing_done.set()
    await asyncio.sleep(2.0)
    stop.set()
    await asyncio.gather(*readers, writing)
    report = await _last_rebuild(owner)

    missing = 0
    for tenant in tenants:
        present = {
            row["order_id"] for row in await rows_of(app, tenant, "order_summaries", "order_id")
        }
        missing += sum(1 for t, order in late if t == tenant and order not in present)

    during = [s for at, s in latencies if rebuild_started <= at <= rebuild_ended]
    outside = [s for at, s in latencies if not rebuild_started <= at <= rebuild_ended]
    moments = sorted(at + s for at, s in latencies)
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    gap_during = max(
        (b - a for a, b in itertools.pairwise(moments) if rebuild_started <= a <= rebuild_ended),
        default=0.0,
    )
    ms = 1000.0
    return {
        "events": events,
        "orders": ORDERS,
        "tenants": TENANTS,
        "seed_seconds": round(seed_seconds, 1),
        "cold_rebuild_seconds_in_process": round(cold.seconds, 2),
        "rebuild_command_seconds": round(command_seconds, 2),
        "rebuild_command_output": summary,
        "rebuild_seconds": report["seconds"],
        "rebuild_events_per_second": round(int(report["events"]) / float(report["seconds"])),
        "rebuild_updates": report["events"],
        "rebuild_detail": report["detail"],
        "late_orders_written_during_rebuild": len(late),
        "late_orders_missing": missing,
        "readers": READERS,
        "reader_answers_total": len(latencies),
        "reader_answers_during_rebuild": len(during),
        "reader_answers_per_second_during_rebuild": round(
            len(during) / (rebuild_ended - rebuild_started)
        ),
        "reader_errors": len(errors),
        "reader_error_samples": errors[:5],
        "reader_incomplete_answers": incomplete,
        "latency_ms_outside_rebuild": _summary(outside, ms),
        "latency_ms_during_rebuild": _summary(during, ms),
        "longest_gap_between_answers_ms_during_rebuild": round(gap_during * ms, 1),
        "longest_gap_between_answers_ms_overall": round(max(gaps, default=0.0) * ms, 1),
    }


def _summary(values: list[float], scale: float) -> dict[str, float]:
    if not values:
        return {}
    return {
        "p50": round(statistics.median(values) * scale, 2),
        "p95": round(_percentile(values, 0.95) * scale, 2),
        "p99": round(_percentile(values, 0.99) * scale, 2),
        "max": round(max(values) * scale, 2),
    }


async def _last_rebuild(owner: AsyncEngine) -> dict[str, object]:
    """The run the command recorded in ``projection_rebuilds``."""
    query = select(
        projection_rebuilds.c.status,
        projection_rebuilds.c.events,
        projection_rebuilds.c.detail,
        func.extract("epoch", projection_rebuilds.c.finished_at - projection_rebuilds.c.started_at),
    ).order_by(projection_rebuilds.c.id.desc())
    async with owner.connect() as connection:
        status, events, detail, seconds = (await connection.execute(query)).first() or ()
    assert status == "swapped"
    return {"events": events, "detail": detail, "seconds": round(float(seconds), 2)}
