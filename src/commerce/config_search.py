"""Settings of the search context (docs/adr/0028-search.md); part of :mod:`commerce.config`."""

from __future__ import annotations

from pydantic import BaseModel, SecretStr

__all__ = ["SearchSettings"]


class SearchSettings(BaseModel):
    """Where the item index lives: Elasticsearch when ``elasticsearch_url`` is set, else
    Postgres full-text search (``search_items``) on the service's database."""

    elasticsearch_url: SecretStr | None = None
    """``COMMERCE_SEARCH__ELASTICSEARCH_URL``, e.g. ``http://localhost:9200`` (may carry
    credentials); unset: Postgres full-text search."""
    index_prefix: str = "commerce-"
    """Prefix of the alias (``<prefix>items``) and of the concrete indices behind it."""
