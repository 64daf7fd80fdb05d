"""The Specification pattern on the read side: ``ListCustomerOrders`` filters are
specifications of order summaries that the SQL reader translates into ``WHERE`` clauses;
on real Postgres the database selects exactly the summaries the specification accepts, for
every composition (and, or, not, always, never)."""

from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.orders.application.filters import (
    OrderStatusIs,
    PlacedSince,
    customer_orders_filter,
)
from commerce.orders.application.read_models import OrderSummary
from commerce.orders.domain.events import OrderStatus
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.specification import Always, Never, Predicate, Specification
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import order_summaries
from commerce.registry.read_queries import SqlReadSessionFactory

pytestmark = pytest.mark.integration

START = datetime(2026, 3, 1, tzinfo=UTC)
S = OrderStatus
PLACED, CONFIRMED = OrderStatusIs([S.PLACED]), OrderStatusIs([S.CONFIRMED])
SHIPPED_OR_CANCELLED = OrderStatusIs([S.SHIPPED, S.CANCELLED])
MARCH_5, MARCH_9 = PlacedSince(START + timedelta(days=4)), PlacedSince(START + timedelta(days=8))

COMPOSITIONS: dict[str, Specification[OrderSummary]] = {
    "always": Always(),
    "never": Never(),
    "one state": CONFIRMED,
    "either state": CONFIRMED | SHIPPED_OR_CANCELLED,
    "not a state": ~PLACED,
    "a period": MARCH_5 & ~MARCH_9,
    "outside a period": ~(MARCH_5 & ~MARCH_9),
    "de morgan": ~(PLACED | MARCH_9),
    "nested": (CONFIRMED & MARCH_5) | (PLACED & ~MARCH_5) | Never(),
    "the query's": customer_orders_filter(
        statuses=[S.CONFIRMED, S.SHIPPED], placed_since=START, placed_before=MARCH_9.moment
    ),
}


async def _seed(engine: AsyncEngine, tenant: TenantId, customer: UUID) -> list[OrderSummary]:
    statuses = [S.PLACED, S.CONFIRMED, S.SHIPPED, S.CANCELLED]
    summaries = [
        OrderSummary(
            order_id=uuid4(),
            customer_id=customer,
            status=statuses[day % 4],
            currency="EUR",
            lines=(),
            total=100 * day,
            placed_at=START + timedelta(days=day, hours=day),
            updated_at=START + timedelta(days=day, hours=day),
            version=1,
        )
        for day in range(12)
    ]
    rows = [
        {
            "tenant_id": tenant.value,
            **{name: getattr(summary, name) for name in OrderSummary.__dataclass_fields__},
            "lines": [],
        }
        for summary in summaries
    ]
    async with tenant_transaction(engine, tenant.value) as connection:
        await connection.execute(insert(order_summaries), rows)
    return summaries


@pytest.fixture
async def seeded(app_engine: AsyncEngine) -> tuple[TenantId, UUID, list[OrderSummary]]:
    tenant, customer = TenantId(uuid4()), uuid4()
    return tenant, customer, await _seed(app_engine, tenant, customer)


@pytest.mark.parametrize("name", COMPOSITIONS)
async def test_sql_selects_exactly_what_the_specification_accepts(
    name: str, app_engine: AsyncEngine, seeded: tuple[TenantId, UUID, list[OrderSummary]]
) -> None:
    tenant, customer, summaries = seeded
    spec = COMPOSITIONS[name]
    newest_first = sorted(summaries, key=lambda s: s.placed_at, reverse=True)
    expected = [s.order_id for s in newest_first if spec.is_satisfied_by(s)]
    async with SqlReadSessionFactory(app_engine)(tenant) as models:
        found = await models.orders.of_customer(customer, before=None, limit=100, where=spec)
    assert [s.order_id for s in found] == expected
    assert 0 < len(expected) < len(summaries) or name in ("always", "never")


async def test_a_filter_pages_like_the_unfiltered_list(
    app_engine: AsyncEngine, seeded: tuple[TenantId, UUID, list[OrderSummary]]
) -> None:
    tenant, customer, summaries = seeded
    spec = ~PLACED
    pages: list[list[UUID]] = []
    before: tuple[datetime, UUID] | None = None
    async with SqlReadSessionFactory(app_engine)(tenant) as models:
        while page := await models.orders.of_customer(customer, before=before, limit=4, where=spec):
            pages.append([s.order_id for s in page])
            before = (page[-1].placed_at, page[-1].order_id)
    newest_first = sorted(summaries, key=lambda s: s.placed_at, reverse=True)
    assert [len(page) for page in pages] == [4, 4, 1]
    listed = [order for page in pages for order in page]
    assert listed == [s.order_id for s in newest_first if spec.is_satisfied_by(s)]


async def test_a_specification_without_sql_is_refused_not_ignored(
    app_engine: AsyncEngine, seeded: tuple[TenantId, UUID, list[OrderSummary]]
) -> None:
    tenant, customer, _ = seeded
    odd = Predicate[OrderSummary](lambda s: s.total % 200 == 100, "odd hundreds")
    async with SqlReadSessionFactory(app_engine)(tenant) as models:
        with pytest.raises(TypeError, match="odd hundreds"):
            await models.orders.of_customer(customer, before=None, limit=10, where=CONFIRMED & odd)
