"""The search side's wiring: the item index the settings choose (docs/adr/0028-search.md)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from elasticsearch import AsyncElasticsearch
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.config_search import SearchSettings
from commerce.search.adapters.elasticsearch_index import ElasticsearchItemIndex
from commerce.search.adapters.postgres_fts import PostgresItemIndex
from commerce.search.application.ports import ItemIndex

__all__ = ["SearchSide", "search_side_for"]


async def _nothing() -> None:
    return None


@dataclass(frozen=True, slots=True)
class SearchSide:
    """The item index and how to release what it holds."""

    index: ItemIndex
    backend: str
    close: Callable[[], Awaitable[None]] = _nothing


def search_side_for(settings: SearchSettings, engine: AsyncEngine) -> SearchSide:
    """Elasticsearch behind ``<prefix>items`` when a URL is set, else Postgres FTS."""
    if settings.elasticsearch_url is None:
        return SearchSide(index=PostgresItemIndex(engine), backend="postgres")
    client = AsyncElasticsearch(settings.elasticsearch_url.get_secret_value())
    index = ElasticsearchItemIndex(client, prefix=settings.index_prefix)
    return SearchSide(index=index, backend="elasticsearch", close=client.close)
