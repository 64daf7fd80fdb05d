"""Schema evolution of stored events on the real Postgres event store (ADR 0011).

``OrderLineAdded`` is stored as ``.v2`` (with ``item_name``) since the name is captured
with the price; rows an older release stored as ``.v1`` stay as they are and load as
``.v2`` through the service's upcasters, in a command's unit of work and in a projection
rebuild alike.
"""

from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.orders.application.use_cases import ORDER_STREAM
from commerce.platform.eventsourcing.streams import StreamId
from commerce.platform.kit.ids import OrderId
from commerce.platform.kit.money import Money
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import events
from commerce.platform.read_side.projection_rebuild import rebuild
from commerce.platform.transactions.processing import Outcome
from commerce.registry.projections import REBUILDABLE
from commerce.registry.unit_of_work import units_of_work
from tests.support.read_models import rows_of
from tests.support.scenario import Scenario

pytestmark = pytest.mark.integration

PLACED_V1 = "commerce.orders.OrderPlaced.v1"
ADDED_V1 = "commerce.orders.OrderLineAdded.v1"
ADDED_V2 = "commerce.orders.OrderLineAdded.v2"
AT = datetime(2024, 3, 1, 12, 0, tzinfo=UTC).isoformat()


async def _store_as_an_older_release_did(
    engine: AsyncEngine, scenario: Scenario, order_id: OrderId, stored: list[tuple[str, Any]]
) -> None:
    """Insert ``(event type, payload)`` rows as versions 1, 2, ... of the order's stream."""
    rows = [
        {
            "tenant_id": scenario.tenant.value,
            "stream_type": ORDER_STREAM,
            "stream_id": order_id.value,
            "version": version,
            "event_type": event_type,
            "payload": payload,
            "metadata": {"event_id": str(uuid4())},
        }
        for version, (event_type, payload) in enumerate(stored, start=1)
    ]
    async with tenant_transaction(engine, scenario.tenant.value) as connection:
        await connection.execute(insert(events), rows)


async def test_lines_stored_as_v1_load_as_v2_and_the_stream_grows_in_v2(
    app_engine: AsyncEngine, owner_engine: AsyncEngine
) -> None:
    scenario = Scenario(units_of_work(app_engine, source="/tests"))
    customer = await scenario.register()
    outcome, item_id = await scenario.create_item(price=Money(500, "EUR"), name="Loom")
    assert outcome is Outcome.APPLIED
    order_id, old_item = OrderId.new(), uuid4()
    old_line = {
        "order_id": str(order_id.value),
        "item_id": str(old_item),
        "quantity": 3,
        "unit_price": {"amount": 1250, "currency": "EUR"},
        "occurred_at": AT,
    }
    placed = {
        "order_id": str(order_id.value),
        "customer_id": str(customer.value),
        "currency": "EUR",
        "occurred_at": AT,
    }
    await _store_as_an_older_release_did(
        app_engine,
        scenario,
        order_id,
        [(PLACED_V1, placed), (ADDED_V1, old_line)],
    )

    stream = StreamId(ORDER_STREAM, order_id.value)
    loaded = await scenario.read(lambda uow: uow.events.load(stream))
    assert [e.event_type for e in loaded] == [PLACED_V1, ADDED_V2]
    assert loaded[1].payload == {**old_line, "item_name": None}
    order = await scenario.order(order_id)
    assert order is not None
    assert [(line.item_id.value, line.quantity, line.unit_price) for line in order.lines] == [
        (old_item, 3, Money(1250, "EUR"))
    ]

    assert await scenario.add_line(order_id, item_id, 2) is Outcome.APPLIED
    grown = await scenario.read(lambda uow: uow.events.load(stream))
    assert [e.event_type for e in grown] == [PLACED_V1, ADDED_V2, ADDED_V2]
    assert grown[2].payload["item_name"] == "Loom"
    order = await scenario.order(order_id)
    assert order is not None
    assert (order.version, order.total) == (3, Money(3 * 1250 + 2 * 500, "EUR"))
    async with tenant_transaction(app_engine, scenario.tenant.value) as connection:
        stored = await connection.scalars(
            select(events.c.event_type)
            .where(events.c.stream_id == order_id.value)
            .order_by(events.c.version)
        )
        assert list(stored) == [PLACED_V1, ADDED_V1, ADDED_V2], "rows are never rewritten"

    await rebuild(owner_engine, REBUILDABLE["order-summaries"])
    (summary,) = [
        row
        for row in await rows_of(app_engine, scenario.tenant, "order_summaries", "order_id")
        if row["order_id"] == order_id.value
    ]
    assert summary["total"] == 3 * 1250 + 2 * 500
    assert [line["quantity"] for line in summary["lines"]] == [3, 2]
