"""Bulkheads per consumer group through the real worker, on Postgres and RabbitMQ: while the
projections are stalled (their transaction waits for a lock held on a read-model table,
their whole bulkhead and pool taken), commands keep being applied; once the lock goes,
the projections catch up (docs/adr/0021-bulkheads-per-consumer-group.md)."""

from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.catalog.messages.commands import CreateItem
from commerce.catalog.messages.events import ItemCreatedV1
from commerce.config import BulkheadSettings
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.messages.events import UserRegisteredV1
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.postgres.tables import item_availability, user_directory
from commerce.registry.consumer_groups import PROJECTIONS
from tests.support.database import ProvisionedDatabase
from tests.support.shop import Shop, eventually
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration

LATER_ITEMS = 4
_WAITING_FOR_THE_TABLE = text(
    """
    SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
    WHERE NOT l.granted AND l.locktype = 'relation'
      AND l.relation = 'item_availability'::regclass AND a.datname = current_database()
    """
)


def _create(item_id: UUID) -> CreateItem:
    return CreateItem(
        item_id=item_id, name="Engine", price=MoneyPayload(amount=1999, currency="EUR")
    )


async def test_commands_are_applied_while_the_projections_are_stalled_and_they_catch_up(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    admin_engine: AsyncEngine,
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    settings.database.statement_timeout_ms = 600_000  # the stalled projection never gives up
    settings.bulkheads.projections = BulkheadSettings(concurrency=1, pool_size=1, max_overflow=0)
    projections_backend = f"{settings.service_name}-{PROJECTIONS}"
    shop = Shop(app_engine, relay_engine)
    first, *later = (uuid4() for _ in range(1 + LATER_ITEMS))

    async def waiting_for_the_lock() -> list[str]:
        """The connections waiting for the lock on the read-model table, by their pool."""
        async with admin_engine.connect() as connection:
            return list(await connection.scalars(_WAITING_FOR_THE_TABLE))

    async def outbox_rows(event_type: str) -> int:
        return len(await shop.published(event_type))

    async def projected_items() -> int:
        query = select(func.count()).where(item_availability.c.tenant_id == shop.tenant)
        async with admin_engine.connect() as connection:  # a superuser: no tenant needed
            return int(await connection.scalar(query) or 0)

    async def directory_rows() -> int:
        query = select(func.count()).where(user_directory.c.tenant_id == shop.tenant)
        async with admin_engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async with running_worker(settings) as service, running_relay(service):
        async with owner_engine.begin() as lock_holder:
            await lock_holder.execute(text("LOCK TABLE item_availability IN EXCLUSIVE MODE"))
            await shop.send(service, _create(first))
            await eventually(waiting_for_the_lock, [projections_backend])
            assert _in_flight(PROJECTIONS) == 1, "the projections' one slot is taken"

            for item in later:
                await shop.send(service, _create(item))
            await shop.send(
                service,
                RegisterUser(
                    user_id=shop.user_id,
                    email="ada@example.com",
                    display_name="Ada",
                    password="correct horse battery staple",
                ),
            )
            await eventually(lambda: outbox_rows(ItemCreatedV1.message_type), 1 + LATER_ITEMS)
            await eventually(lambda: outbox_rows(UserRegisteredV1.message_type), 1)

            assert await waiting_for_the_lock() == [projections_backend], "stalled all along"
            assert await projected_items() == 0
        await eventually(projected_items, 1 + LATER_ITEMS)
        await eventually(directory_rows, 1)


def _in_flight(group: str) -> float | None:
    return REGISTRY.get_sample_value("commerce_bulkhead_in_flight", {"group": group})
