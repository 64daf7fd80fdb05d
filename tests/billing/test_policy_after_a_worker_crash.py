"""The billing process manager survives a worker killed in the middle of its work.

A real ``commerce run all`` process (worker and relay) takes OrderConfirmed from the
orders stream and starts issuing the invoice: its transaction has claimed the message in
the inbox and is inserting the invoice when the test, which holds a lock on ``invoices``,
sees it waiting there, and SIGKILLs the process. Nothing of that transaction commits. The restarted
worker receives the unacknowledged OrderConfirmed again and issues the invoice: one
invoice, issued once, announced by one InvoiceIssued (one outbox row, one message id,
however often the relay's at-least-once delivery sends it), on RabbitMQ and on Kafka.
"""

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.orders.messages.commands import AddLine, ConfirmOrder
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import invoices
from tests.support.database import ProvisionedDatabase
from tests.support.processes import ServiceProcesses
from tests.support.shop import ANY_ID, ISSUED, Shop, eventually
from tests.support.tansu import free_port
from tests.support.worker import environment_for, running_worker, settings_for

pytestmark = pytest.mark.e2e

_BILLING_INSERT = text(
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
    " AND wait_event_type = 'Lock' AND query ILIKE 'INSERT INTO invoices%'"
)
_ALIVE = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")


async def _billing_blocked(admin_engine: AsyncEngine) -> int:
    """The backend of the worker's billing transaction, once it waits to insert the invoice."""
    found: list[int] = []

    async def waiting() -> bool:
        async with admin_engine.connect() as admin:
            found[:] = list(await admin.scalars(_BILLING_INSERT))
        return len(found) == 1

    await eventually(waiting, True)
    return found[0]


async def _ended(admin_engine: AsyncEngine, pid: int) -> None:
    """Wait until the backend ``pid`` is gone (its client died: it rolled back)."""

    async def alive() -> int:
        async with admin_engine.connect() as admin:
            return int(await admin.scalar(_ALIVE, {"pid": pid}) or 0)

    await eventually(alive, 0)


async def _invoices(app_engine: AsyncEngine, shop: Shop) -> int:
    query = select(func.count()).where(invoices.c.order_id == shop.order_id)
    async with tenant_transaction(app_engine, shop.tenant) as connection:
        return int(await connection.scalar(query) or 0)


async def test_a_worker_killed_while_issuing_the_invoice_issues_it_once_after_restart(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    admin_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    settings.http.port = free_port()
    url = f"http://127.0.0.1:{settings.http.port}"
    shop = Shop(app_engine, relay_engine)
    with ServiceProcesses(environment_for(settings), tmp_path) as processes:
        processes.start("worker", "all")
        await processes.ready("worker", url)
        async with running_worker(settings, consuming=False) as publisher:
            await shop.open_order(publisher)
            line = AddLine(order_id=shop.order_id, item_id=shop.item_id, quantity=2)
            await shop.send(publisher, line)
            await eventually(shop.order_version, 2)

            blocker = await owner_engine.connect()
            try:
                held = await blocker.begin()
                await blocker.execute(text("LOCK TABLE invoices IN SHARE ROW EXCLUSIVE MODE"))
                await shop.send(publisher, ConfirmOrder(order_id=shop.order_id))
                pid = await _billing_blocked(admin_engine)
                processes.kill("worker")  # mid-transaction: inbox claimed, invoice pending
                await held.rollback()
            finally:
                await blocker.close()
            await _ended(admin_engine, pid)
            assert await shop.invoice() is None, "the killed worker's transaction committed"

            processes.start("worker", "all")
            await processes.ready("worker", url)
            await eventually(shop.invoice, ("issued", 3998))
            await eventually(lambda: shop.published(ISSUED), [(ANY_ID, True)])
            await asyncio.sleep(1)  # time for a late duplicate to do harm, if it could

    assert await _invoices(app_engine, shop) == 1
    assert await shop.invoice() == ("issued", 3998)
    assert await shop.published(ISSUED) == [(ANY_ID, True)], "one InvoiceIssued, sent"
