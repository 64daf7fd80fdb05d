"""The item index implementations the search contract runs against."""

from collections.abc import AsyncIterator
from uuid import UUID, uuid4

import pytest
from osmem_server import OsmemClone
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.search.adapters.elasticsearch_index import ElasticsearchItemIndex
from commerce.search.adapters.postgres_fts import PostgresItemIndex
from commerce.search.application.ports import ItemIndex
from tests.support.osmem import osmem_client


@pytest.fixture
async def osmem_index(osmem_clone: OsmemClone) -> AsyncIterator[ElasticsearchItemIndex]:
    """The Elasticsearch adapter on a fresh clone of the osmem protocol server."""
    client = osmem_client(osmem_clone.url)
    index = ElasticsearchItemIndex(client, prefix="commerce-", refresh=True)
    try:
        yield index
    finally:
        await client.close()


@pytest.fixture(params=["postgres-fts", "osmem"])
def item_index(request: pytest.FixtureRequest) -> ItemIndex:
    """Each implementation of the port; tests use fresh tenants, so no cleanup is needed."""
    if request.param == "osmem":
        index: ElasticsearchItemIndex = request.getfixturevalue("osmem_index")
        return index
    engine: AsyncEngine = request.getfixturevalue("app_engine")
    return PostgresItemIndex(engine)


@pytest.fixture
def tenant() -> UUID:
    """A fresh tenant id."""
    return uuid4()
