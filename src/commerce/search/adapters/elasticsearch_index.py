"""The item index on Elasticsearch: external versions, tombstones, bulk, one alias.

Every document id is ``<tenant>:<item>`` and carries ``tenant_id``; every query filters on
the caller's tenant, so a tenant never sees another's hits (docs/adr/0028-search.md).
Writes send whole documents with ``version_type=external`` and the aggregate version: a 409
means already applied. Retired items are written as tombstone documents (never deleted:
Elasticsearch forgets a delete's version after ``index.gc_deletes``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from elasticsearch import AsyncElasticsearch, BadRequestError, NotFoundError

from commerce.search.adapters.cursors import decode_cursor, encode_cursor
from commerce.search.adapters.elasticsearch_mappings import (
    ITEM_MAPPINGS,
    ITEM_SETTINGS,
    item_alias,
    item_index_name,
)
from commerce.search.domain.documents import Indexed, ItemDocument, ItemTombstone
from commerce.search.domain.queries import ItemHit, ItemSearch, ItemSearchPage, SortOrder

__all__ = ["ElasticsearchItemIndex", "IndexingRejectedError", "RetryableIndexingError"]

_CONFLICT = 409
_TOO_MANY = 429
_SERVER = 500
_FACETS = ("status", "currency")
_SORTS: dict[SortOrder, list[Any]] = {
    SortOrder.RELEVANCE: ["_score", {"item_id": "asc"}],
    SortOrder.PRICE_ASC: [{"price": "asc"}, {"item_id": "asc"}],
    SortOrder.PRICE_DESC: [{"price": "desc"}, {"item_id": "asc"}],
    SortOrder.NAME: [{"name_sort": "asc"}, {"item_id": "asc"}],
}


class RetryableIndexingError(RuntimeError):
    """Some bulk items failed with 429 or 5xx: the message is redelivered and retried."""


class IndexingRejectedError(RuntimeError):
    """Elasticsearch refused a document (a 4xx other than 409): the message is dead-lettered."""


def _source(tenant: UUID, entry: Indexed) -> dict[str, Any]:
    source: dict[str, Any] = {
        "tenant_id": str(tenant),
        "item_id": str(entry.item_id),
        "version": entry.version,
        "deleted": isinstance(entry, ItemTombstone),
    }
    if isinstance(entry, ItemDocument):
        source |= {
            "name": entry.name,
            "name_sort": entry.name,
            "status": entry.status,
            "stock": entry.stock,
            "price": entry.price,
            "currency": entry.currency,
            "updated_at": entry.updated_at.isoformat(),
        }
    return source


def _entry(source: dict[str, Any]) -> Indexed:
    item_id, version = UUID(source["item_id"]), int(source["version"])
    if source["deleted"]:
        return ItemTombstone(item_id=item_id, version=version)
    return ItemDocument(
        item_id=item_id,
        name=source["name"],
        status=source["status"],
        stock=source["stock"],
        price=source["price"],
        currency=source["currency"],
        updated_at=datetime.fromisoformat(source["updated_at"]),
        version=version,
    )


class ElasticsearchItemIndex:
    """:class:`~commerce.search.application.ports.ItemIndex` behind the alias ``<prefix>items``.

    ``refresh``: make each write visible to searches at once (tests, small tenants); off,
    a write shows in searches after the index's refresh interval.
    """

    def __init__(
        self, client: AsyncElasticsearch, *, prefix: str = "", refresh: bool = False
    ) -> None:
        self._client = client
        self._prefix = prefix
        self._alias = item_alias(prefix)
        self._refresh = refresh
        self._ready = False

    async def create(self, suffix: str, *, alias: bool) -> str:
        """Create a concrete index for the current mappings; behind the alias if ``alias``."""
        name = item_index_name(self._prefix, suffix)
        aliases: dict[str, Any] | None = {self._alias: {}} if alias else None
        await self._client.indices.create(
            index=name, settings=ITEM_SETTINGS, mappings=ITEM_MAPPINGS, aliases=aliases
        )
        return name

    async def ensure(self) -> None:
        """Create the first index behind the alias unless the alias exists (once per
        process; every other method calls it first)."""
        if self._ready:
            return
        if not await self._client.indices.exists_alias(name=self._alias):
            try:
                await self.create("1", alias=True)
            except BadRequestError as error:  # another process created it meanwhile
                if error.error != "resource_already_exists_exception":
                    raise
        self._ready = True

    async def get(self, tenant: UUID, item_id: UUID) -> Indexed | None:
        """What the index holds for the item, or ``None``."""
        await self.ensure()
        try:
            found = await self._client.get(index=self._alias, id=f"{tenant}:{item_id}")
        except NotFoundError:
            return None
        source = found["_source"]
        return _entry(source) if source["tenant_id"] == str(tenant) else None

    async def put(self, tenant: UUID, entries: Sequence[Indexed]) -> int:
        """Bulk-write ``entries``; 409s are already applied, 429/5xx raise
        :class:`RetryableIndexingError`, other refusals :class:`IndexingRejectedError`."""
        await self.ensure()
        if not entries:
            return 0
        operations: list[dict[str, Any]] = []
        for entry in entries:
            operations.append(
                {
                    "index": {
                        "_index": self._alias,
                        "_id": f"{tenant}:{entry.item_id}",
                        "version": entry.version,
                        "version_type": "external",
                    }
                }
            )
            operations.append(_source(tenant, entry))
        answer = await self._client.bulk(operations=operations, refresh=self._refresh)
        statuses = [int(item["index"]["status"]) for item in answer["items"]]
        if any(status == _TOO_MANY or status >= _SERVER for status in statuses):
            raise RetryableIndexingError(f"bulk item statuses {statuses}: retry")
        refused = [s for s in statuses if s >= 400 and s != _CONFLICT]
        if refused:
            raise IndexingRejectedError(f"bulk item statuses {statuses}: refused")
        return sum(1 for status in statuses if status < 300)

    async def search(self, tenant: UUID, query: ItemSearch) -> ItemSearchPage:
        """The tenant's live items matching ``query``, with facets and highlights."""
        await self.ensure()
        offset = decode_cursor(query.cursor)
        filters: list[dict[str, Any]] = [
            {"term": {"tenant_id": str(tenant)}},
            {"term": {"deleted": False}},
        ]
        if query.status is not None:
            filters.append({"term": {"status": query.status}})
        if query.currency is not None:
            filters.append({"term": {"currency": query.currency}})
        text = query.text.strip()
        must = [{"match": {"name": {"query": text, "operator": "and"}}}] if text else []
        answer = await self._client.search(
            index=self._alias,
            query={"bool": {"filter": filters, "must": must}},
            sort=_SORTS[query.sort],
            from_=offset,
            size=query.limit + 1,
            track_total_hits=True,
            highlight={"fields": {"name": {"number_of_fragments": 0}}},
            aggs={name: {"terms": {"field": name}} for name in _FACETS},
        )
        hits = [
            ItemHit(
                document=_document(hit["_source"]),
                highlight=hit.get("highlight", {}).get("name", [hit["_source"]["name"]])[0],
            )
            for hit in answer["hits"]["hits"]
        ]
        facets = {
            name: {b["key"]: b["doc_count"] for b in answer["aggregations"][name]["buckets"]}
            for name in _FACETS
        }
        more = len(hits) > query.limit
        return ItemSearchPage(
            hits=hits[: query.limit],
            total=int(answer["hits"]["total"]["value"]),
            facets=facets,
            next_cursor=encode_cursor(offset + query.limit) if more else None,
        )

    async def suggest(self, tenant: UUID, prefix: str, *, limit: int = 10) -> list[str]:
        """Names of live items with a word starting with the last word of ``prefix``."""
        await self.ensure()
        words = prefix.lower().split()
        if not words or not any(c.isalnum() for c in words[-1]):
            return []
        answer = await self._client.search(
            index=self._alias,
            query={
                "bool": {
                    "filter": [
                        {"term": {"tenant_id": str(tenant)}},
                        {"term": {"deleted": False}},
                        {"prefix": {"name": words[-1]}},
                    ]
                }
            },
            size=limit,
            sort=[{"name_sort": "asc"}],
        )
        names = [hit["_source"]["name"] for hit in answer["hits"]["hits"]]
        return sorted(set(names))


def _document(source: dict[str, Any]) -> ItemDocument:
    entry = _entry(source)
    assert isinstance(entry, ItemDocument)  # searches exclude tombstones
    return entry
