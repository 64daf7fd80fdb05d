"""The item index implementations the search contract runs against."""

from uuid import UUID, uuid4

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.search.adapters.postgres_fts import PostgresItemIndex
from commerce.search.application.ports import ItemIndex


@pytest.fixture(params=["postgres-fts"])
def item_index(request: pytest.FixtureRequest) -> ItemIndex:
    """Each implementation of the port; tests use fresh tenants, so no cleanup is needed."""
    engine: AsyncEngine = request.getfixturevalue("app_engine")
    return PostgresItemIndex(engine)


@pytest.fixture
def tenant() -> UUID:
    """A fresh tenant id."""
    return uuid4()
