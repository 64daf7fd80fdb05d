"""The item index kept from events, on RabbitMQ and Kafka: catalogue commands in, the relay
publishes the item events, the search consumer folds them into the Postgres full-text index
(the default backend), and a retired item leaves search for good."""

import asyncio
from collections.abc import AsyncIterator, Callable
from uuid import UUID, uuid4

import pytest

from commerce.bootstrap.service import Service
from commerce.catalog.messages.commands import AdjustStock, ChangePrice, CreateItem, RetireItem
from commerce.config import Settings
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.money import MoneyPayload
from commerce.registry.channels import route_of
from commerce.search.application.ports import ItemIndex
from commerce.search.domain.documents import Indexed, ItemDocument, ItemTombstone
from commerce.search.domain.queries import ItemSearch
from tests.support.database import ProvisionedDatabase
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", params=["rabbit", "kafka"])
def settings(request: pytest.FixtureRequest, provisioned_database: ProvisionedDatabase) -> Settings:
    if request.param == "rabbit":
        url = str(request.getfixturevalue("rabbit_url"))
    else:
        url = f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    return settings_for(provisioned_database, url)


@pytest.fixture(scope="module")
async def worker(settings: Settings) -> AsyncIterator[Service]:
    async with running_worker(settings) as service, running_relay(service):
        yield service


async def _eventually(
    index: ItemIndex, tenant: UUID, item_id: UUID, expected: Callable[[Indexed | None], bool]
) -> Indexed | None:
    deadline = asyncio.get_running_loop().time() + 60.0
    held = None
    while asyncio.get_running_loop().time() < deadline:
        held = await index.get(tenant, item_id)
        if expected(held):
            return held
        await asyncio.sleep(0.1)
    raise AssertionError(f"the index never matched; last: {held}")


def _at_version(version: int) -> Callable[[Indexed | None], bool]:
    return lambda held: held is not None and held.version == version


async def test_item_events_reach_the_index_and_a_retired_item_leaves_search(
    worker: Service,
) -> None:
    assert worker.search is not None
    assert worker.search.backend == "postgres"
    index, tenant, item_id = worker.search.index, uuid4(), uuid4()

    async def send(command: Command) -> None:
        await worker.send_command(route_of(type(command)).channel, command, tenant_id=tenant)

    eur = MoneyPayload(amount=1999, currency="EUR")
    commands: list[Command] = [
        CreateItem(item_id=item_id, name="Brass orrery", price=eur, stock=4),
        AdjustStock(item_id=item_id, delta=3, reason="restock"),
        ChangePrice(item_id=item_id, price=MoneyPayload(amount=2499, currency="EUR")),
    ]
    held: Indexed | None = None
    for version, command in enumerate(commands, start=1):
        await send(command)
        held = await _eventually(index, tenant, item_id, _at_version(version))
    assert isinstance(held, ItemDocument)
    assert (held.name, held.stock, held.price, held.status) == ("Brass orrery", 7, 2499, "active")
    page = await index.search(tenant, ItemSearch(text="orrery"))
    assert [hit.document.item_id for hit in page.hits] == [item_id]
    assert (await index.search(uuid4(), ItemSearch(text="orrery"))).total == 0

    await send(RetireItem(item_id=item_id))
    retired = await _eventually(index, tenant, item_id, lambda h: isinstance(h, ItemTombstone))
    assert retired == ItemTombstone(item_id=item_id, version=4)
    assert (await index.search(tenant, ItemSearch(text="orrery"))).total == 0
