"""One contract, two implementations: the state repositories of issue #4 and the user
directory's partial changes, on the in-memory fakes and on Postgres (as the app role).

Rows round-trip whole, tenants never see each other's rows, and an update names the
version it loaded: a stale one, or one racing another transaction, is a conflict.
"""

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from uuid import uuid4

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.billing.domain.invoice import Invoice, InvoiceStatus
from commerce.catalog.domain.errors import ItemAlreadyExists
from commerce.catalog.domain.item import Item, ItemStatus
from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.identity.domain.user import Role, UserStatus
from commerce.platform.eventsourcing.streams import ConcurrencyConflict
from commerce.platform.kit.ids import InvoiceId, ItemId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money
from commerce.platform.postgres.tables import user_directory
from commerce.platform.transactions.ports import UnitOfWork, UnitOfWorkFactory
from commerce.platform.transactions.unit_of_work import SqlUnitOfWork
from commerce.registry.unit_of_work import units_of_work
from tests.support.commands import context_for
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.scenario import Scenario

pytestmark = pytest.mark.contract

NOW = datetime(2026, 3, 4, 5, 6, 7, 890_000, tzinfo=UTC)


@pytest.fixture(params=["memory", "postgres"])
def factory(request: pytest.FixtureRequest) -> UnitOfWorkFactory:
    if request.param == "memory":
        return InMemoryUnitOfWorkFactory()
    app_engine: AsyncEngine = request.getfixturevalue("app_engine")
    return units_of_work(app_engine, source="/contract")


@asynccontextmanager
async def _committed(factory: UnitOfWorkFactory, tenant: TenantId) -> AsyncIterator[UnitOfWork]:
    async with factory(context_for(tenant)) as uow:
        yield uow
        await uow.commit()


def _item(tenant: TenantId, stock: int = 5) -> Item:
    item = Item.create(
        item_id=ItemId.new(),
        tenant_id=tenant,
        name="Difference Engine",
        price=Money(123_456_789_012, "KWD"),
        stock=stock,
        now=NOW,
    )
    item.collect_events()
    return item


def _invoice(tenant: TenantId) -> Invoice:
    order_id = OrderId.new()
    invoice = Invoice.issue(
        invoice_id=InvoiceId.for_order(order_id),
        tenant_id=tenant,
        order_id=order_id,
        customer_id=UserId.new(),
        amount=Money(3998, "EUR"),
        now=NOW,
    )
    invoice.collect_events()
    return invoice


async def test_items_round_trip_and_stay_in_their_tenant(factory: UnitOfWorkFactory) -> None:
    tenant = TenantId(uuid4())
    item = _item(tenant)
    async with _committed(factory, tenant) as uow:
        await uow.items.add(item)
    async with factory(context_for(tenant)) as uow:
        loaded = await uow.items.get(item.id)
    assert loaded is not None
    assert (loaded.id, loaded.tenant_id, loaded.name, loaded.price, loaded.stock) == (
        item.id,
        tenant,
        "Difference Engine",
        Money(123_456_789_012, "KWD"),
        5,
    )
    assert (loaded.status, loaded.version, loaded.created_at) == (ItemStatus.ACTIVE, 1, NOW)
    async with factory(context_for(TenantId(uuid4()))) as uow:
        assert await uow.items.get(item.id) is None


async def test_an_item_id_is_inserted_once(factory: UnitOfWorkFactory) -> None:
    tenant = TenantId(uuid4())
    item = _item(tenant)
    async with _committed(factory, tenant) as uow:
        await uow.items.add(item)
    async with factory(context_for(tenant)) as uow:
        with pytest.raises(ItemAlreadyExists):
            async with uow.savepoint():
                await uow.items.add(item)


async def test_an_item_update_needs_the_version_it_loaded(factory: UnitOfWorkFactory) -> None:
    tenant = TenantId(uuid4())
    item = _item(tenant)
    async with _committed(factory, tenant) as uow:
        await uow.items.add(item)
    async with _committed(factory, tenant) as uow:
        loaded = await uow.items.get(item.id)
        assert loaded is not None
        loaded.adjust_stock(-5, now=NOW)
        loaded.retire(now=NOW)
        await uow.items.update(loaded, expected_version=1)
    async with factory(context_for(tenant)) as uow:
        again = await uow.items.get(item.id)
        assert again is not None
        assert (again.stock, again.status, again.version) == (0, ItemStatus.RETIRED, 3)
        again.adjust_stock(1, now=NOW)
        with pytest.raises(ConcurrencyConflict):
            await uow.items.update(again, expected_version=1)


async def test_of_two_racing_item_updates_the_second_conflicts(
    factory: UnitOfWorkFactory,
) -> None:
    """Postgres blocks the second update on the row lock, then matches nothing."""
    tenant = TenantId(uuid4())
    item = _item(tenant)
    async with _committed(factory, tenant) as uow:
        await uow.items.add(item)
    async with factory(context_for(tenant)) as first, factory(context_for(tenant)) as second:
        mine, theirs = await first.items.get(item.id), await second.items.get(item.id)
        assert mine is not None
        assert theirs is not None
        mine.adjust_stock(1, now=NOW)
        theirs.adjust_stock(2, now=NOW)
        await first.items.update(mine, expected_version=1)
        racing = asyncio.create_task(second.items.update(theirs, expected_version=1))
        await asyncio.sleep(0.2)
        await first.commit()
        with pytest.raises(ConcurrencyConflict):
            await racing
    async with factory(context_for(tenant)) as uow:
        stored = await uow.items.get(item.id)
        assert stored is not None
        assert (stored.stock, stored.version) == (6, 2)


async def test_invoices_round_trip_once_per_order(factory: UnitOfWorkFactory) -> None:
    tenant = TenantId(uuid4())
    invoice = _invoice(tenant)
    async with _committed(factory, tenant) as uow:
        await uow.invoices.add(invoice)
    async with _committed(factory, tenant) as uow:
        loaded = await uow.invoices.get(invoice.id)
        assert loaded is not None
        assert (loaded.order_id, loaded.customer_id, loaded.amount, loaded.issued_at) == (
            invoice.order_id,
            invoice.customer_id,
            Money(3998, "EUR"),
            NOW,
        )
        loaded.capture_payment(amount=Money(3998, "EUR"), reference="psp-1", now=NOW)
        await uow.invoices.update(loaded, expected_version=1)
    async with factory(context_for(tenant)) as uow:
        paid = await uow.invoices.get(invoice.id)
        assert paid is not None
        assert (paid.status, paid.payment_reference, paid.version) == (
            InvoiceStatus.PAID,
            "psp-1",
            2,
        )
        with pytest.raises(ConcurrencyConflict):
            async with uow.savepoint():
                await uow.invoices.add(invoice)
        with pytest.raises(ConcurrencyConflict):
            await uow.invoices.update(paid, expected_version=1)
    async with factory(context_for(TenantId(uuid4()))) as uow:
        assert await uow.invoices.get(invoice.id) is None


async def test_user_changes_are_stored_with_their_version(factory: UnitOfWorkFactory) -> None:
    scenario = Scenario(factory)
    user_id = await scenario.register()
    async with _committed(factory, scenario.tenant) as uow:
        user = await uow.users.get(user_id)
        assert user is not None
        user.change_profile(display_name="Ada King", now=NOW)
        user.assign_role(Role.ADMIN, now=NOW)
        user.deactivate(now=NOW)
        await uow.users.update(user, expected_version=1)
    stored = await scenario.user(user_id)
    assert stored is not None
    assert (stored.display_name, stored.status, stored.version) == (
        "Ada King",
        UserStatus.DEACTIVATED,
        4,
    )
    assert stored.roles == {Role.CUSTOMER, Role.ADMIN}
    async with factory(context_for(scenario.tenant)) as uow:
        with pytest.raises(ConcurrencyConflict):
            await uow.users.update(stored, expected_version=3)


async def test_directory_changes_apply_once_in_version_order(factory: UnitOfWorkFactory) -> None:
    tenant, user_id = TenantId(uuid4()), UserId(uuid4())

    async def apply(change: DirectoryChange) -> bool:
        async with _committed(factory, tenant) as uow:
            return await uow.user_directory.change(change)

    assert not await apply(DirectoryChange(user_id, 2, display_name="Nobody")), "unknown user"
    async with _committed(factory, tenant) as uow:
        await uow.user_directory.record(DirectoryEntry(user_id, "ada@example.com", "Ada", 1, NOW))
    assert await apply(DirectoryChange(user_id, 2, display_name="Ada King"))
    assert not await apply(DirectoryChange(user_id, 2, display_name="Again")), "repeated"
    assert await apply(DirectoryChange(user_id, 3, added_role=Role.STAFF))
    assert await apply(DirectoryChange(user_id, 4, status=UserStatus.DEACTIVATED.value))
    assert not await apply(DirectoryChange(user_id, 3, added_role=Role.ADMIN)), "older"
    assert await apply(DirectoryChange(user_id, 5, added_role=Role.CUSTOMER)), "held: kept in place"
    assert await _directory_row(factory, tenant, user_id) == (
        "Ada King",
        "deactivated",
        ("customer", "staff"),
        5,
    )


async def _directory_row(
    factory: UnitOfWorkFactory, tenant: TenantId, user_id: UserId
) -> tuple[str, str, tuple[str, ...], int]:
    if isinstance(factory, InMemoryUnitOfWorkFactory):
        entry = factory.store.directory[tenant, user_id]
        return entry.display_name, entry.status, tuple(entry.roles), entry.version
    async with factory(context_for(tenant)) as uow:
        assert isinstance(uow, SqlUnitOfWork)
        query = select(
            user_directory.c.display_name,
            user_directory.c.status,
            user_directory.c.roles,
            user_directory.c.version,
        ).where(user_directory.c.user_id == user_id.value)
        row = (await uow.connection.execute(query)).one()
    return row.display_name, row.status, tuple(row.roles), row.version
