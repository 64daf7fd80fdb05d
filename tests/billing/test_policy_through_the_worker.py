"""The billing process manager against the real worker, relay, broker and Postgres.

Commands go in through the broker; the relay publishes the order events; the billing
policy (an ordered consumer of the orders stream) issues the invoice on OrderConfirmed and
voids it on OrderCancelled. A redelivered OrderConfirmed (the relay re-publishing the same
row, as after a crash between publish and mark-sent) and a worker restart between the
confirmation and its billing never produce a second invoice.
"""

import asyncio

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.orders.messages.commands import CancelOrder
from tests.support.database import ProvisionedDatabase
from tests.support.shop import ANY_ID, CONFIRMED, ISSUED, Shop, eventually
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture
def shop(app_engine: AsyncEngine, relay_engine: AsyncEngine) -> Shop:
    return Shop(app_engine, relay_engine)


async def test_confirming_invoices_redelivery_changes_nothing_and_cancelling_voids(
    provisioned_database: ProvisionedDatabase, broker_url: str, shop: Shop
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    async with running_worker(settings) as service, running_relay(service):
        await shop.confirm_an_order(service)
        await eventually(shop.invoice, ("issued", 3998))

        await shop.republish(CONFIRMED)  # the relay crashed before marking it sent
        await eventually(lambda: shop.published(CONFIRMED), [(ANY_ID, True)])
        await shop.send(service, CancelOrder(order_id=shop.order_id, reason="changed my mind"))
        await eventually(shop.invoice, ("voided", 3998))

    issued = await shop.published(ISSUED)
    assert len(issued) == 1, "one invoice, whatever was redelivered"


async def test_a_worker_restart_between_confirmation_and_billing_bills_once(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, shop: Shop
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    async with running_worker(settings) as service:  # no relay: events wait in the outbox
        await shop.confirm_an_order(service)
    assert await shop.invoice() is None

    async with running_worker(settings) as service, running_relay(service):
        await eventually(shop.invoice, ("issued", 3998))
        await shop.republish(CONFIRMED)
        await eventually(lambda: shop.published(CONFIRMED), [(ANY_ID, True)])
    async with running_worker(settings) as service, running_relay(service):
        await shop.republish(CONFIRMED)
        await eventually(lambda: shop.published(CONFIRMED), [(ANY_ID, True)])
        await asyncio.sleep(1)  # time for the duplicate to reach the billing consumer
    assert len(await shop.published(ISSUED)) == 1
    assert await shop.invoice() == ("issued", 3998)
