"""The item index contract: every implementation of the search port passes these tests."""

from dataclasses import replace
from uuid import UUID, uuid4

import pytest

from commerce.catalog.messages.events import (
    ItemCreatedV1,
    ItemPriceChangedV1,
    ItemRetiredV1,
    StockAdjustedV1,
)
from commerce.platform.messaging.money import MoneyPayload
from commerce.search.adapters.cursors import InvalidCursorError
from commerce.search.application.indexing import index_item_event
from commerce.search.application.ports import ItemIndex
from commerce.search.domain.documents import ItemDocument, ItemTombstone
from commerce.search.domain.queries import ItemSearch, SortOrder
from tests.search.documents import AT, item

pytestmark = [pytest.mark.integration, pytest.mark.contract]


async def test_a_document_reads_back_whole(item_index: ItemIndex, tenant: UUID) -> None:
    doc = item("Analytical Engine")
    assert await item_index.put(tenant, [doc]) == 1
    assert await item_index.get(tenant, doc.item_id) == doc


async def test_an_older_or_equal_version_is_already_applied(
    item_index: ItemIndex, tenant: UUID
) -> None:
    doc = item("Difference Engine", version=3)
    await item_index.put(tenant, [doc])
    assert await item_index.put(tenant, [replace(doc, name="stale", version=2)]) == 0
    assert await item_index.put(tenant, [replace(doc, name="same", version=3)]) == 0
    assert await item_index.get(tenant, doc.item_id) == doc


async def test_a_tombstone_hides_the_item_and_an_older_document_never_brings_it_back(
    item_index: ItemIndex, tenant: UUID
) -> None:
    doc = item("Jacquard loom", version=1)
    await item_index.put(tenant, [doc])
    tombstone = ItemTombstone(item_id=doc.item_id, version=4)
    assert await item_index.put(tenant, [tombstone]) == 1
    assert await item_index.put(tenant, [replace(doc, version=3)]) == 0
    assert await item_index.get(tenant, doc.item_id) == tombstone
    assert (await item_index.search(tenant, ItemSearch(text="jacquard"))).total == 0
    assert await item_index.suggest(tenant, "jac") == []


async def test_a_tenant_never_sees_another_tenants_items(
    item_index: ItemIndex, tenant: UUID
) -> None:
    doc = item("Orrery")
    await item_index.put(tenant, [doc])
    other = uuid4()
    assert await item_index.get(other, doc.item_id) is None
    assert (await item_index.search(other, ItemSearch(text="orrery"))).hits == []
    assert (await item_index.search(other, ItemSearch())).total == 0
    assert await item_index.suggest(other, "orr") == []
    assert (await item_index.search(tenant, ItemSearch(text="orrery"))).total == 1


async def test_full_text_finds_words_and_highlights_them(
    item_index: ItemIndex, tenant: UUID
) -> None:
    brass, oak = item("Brass orrery, large"), item("Oak sextant")
    await item_index.put(tenant, [brass, oak])
    page = await item_index.search(tenant, ItemSearch(text="ORRERY"))
    assert [hit.document for hit in page.hits] == [brass]
    assert page.hits[0].highlight == "Brass <em>orrery</em>, large"
    assert page.total == 1


async def test_filters_narrow_and_facets_count_the_matches(
    item_index: ItemIndex, tenant: UUID
) -> None:
    docs = [
        item("Slide rule", currency="EUR"),
        item("Slide rule, pocket", currency="USD"),
        item("Abacus", currency="EUR"),
    ]
    await item_index.put(tenant, docs)
    page = await item_index.search(tenant, ItemSearch(text="slide"))
    assert page.facets["currency"] == {"EUR": 1, "USD": 1}
    assert page.facets["status"] == {"active": 2}
    filtered = await item_index.search(tenant, ItemSearch(text="slide", currency="USD"))
    assert [hit.document for hit in filtered.hits] == [docs[1]]


async def test_cursor_pages_cover_every_match_once_in_sort_order(
    item_index: ItemIndex, tenant: UUID
) -> None:
    docs = [item(f"Gear {n}", price=100 * (7 - n)) for n in range(7)]
    await item_index.put(tenant, docs)
    seen: list[ItemDocument] = []
    cursor: str | None = None
    for _ in range(4):
        query = ItemSearch(text="gear", sort=SortOrder.PRICE_ASC, limit=3, cursor=cursor)
        page = await item_index.search(tenant, query)
        seen += [hit.document for hit in page.hits]
        cursor = page.next_cursor
        if cursor is None:
            break
    assert seen == sorted(docs, key=lambda d: d.price)


async def test_a_forged_cursor_is_refused(item_index: ItemIndex, tenant: UUID) -> None:
    with pytest.raises(InvalidCursorError):
        await item_index.search(tenant, ItemSearch(cursor="not-a-cursor"))


async def test_suggestions_complete_a_prefix(item_index: ItemIndex, tenant: UUID) -> None:
    await item_index.put(tenant, [item("Telescope"), item("Telegraph key"), item("Sextant")])
    assert await item_index.suggest(tenant, "tele") == ["Telegraph key", "Telescope"]
    assert await item_index.suggest(tenant, "!!") == []


async def test_redelivered_events_out_of_order_never_regress_the_document(
    item_index: ItemIndex, tenant: UUID
) -> None:
    item_id = uuid4()
    eur = MoneyPayload(amount=1000, currency="EUR")
    created = ItemCreatedV1(item_id=item_id, name="Loom", price=eur, stock=3, created_at=AT)
    stock = StockAdjustedV1(item_id=item_id, delta=2, stock=5, reason="r", adjusted_at=AT)
    price = ItemPriceChangedV1(
        item_id=item_id,
        old_price=eur,
        new_price=MoneyPayload(amount=1500, currency="EUR"),
        changed_at=AT,
    )
    for version, event in ((1, created), (2, stock), (3, price), (2, stock), (1, created)):
        await index_item_event(item_index, tenant, item_id, event, version=version, at=AT)
    held = await item_index.get(tenant, item_id)
    assert isinstance(held, ItemDocument)
    assert (held.version, held.stock, held.price) == (3, 5, 1500)

    retired = ItemRetiredV1(item_id=item_id, retired_at=AT)
    await index_item_event(item_index, tenant, item_id, retired, version=4, at=AT)
    for version, event in ((1, created), (3, price)):
        changed = await index_item_event(item_index, tenant, item_id, event, version=version, at=AT)
        assert changed is False
    assert await item_index.get(tenant, item_id) == ItemTombstone(item_id=item_id, version=4)
