"""Every query's answer, by query type: each context's answers, over one read session.

An answer is cached under the query's type, the tenant and the query's canonical JSON,
and tagged with the rows it was built from, so a projection that changes one of those
rows drops it (``docs/adr/0013-projections-and-read-side.md``).
"""

from __future__ import annotations

from typing import Any, Protocol

from commerce.catalog.application.queries import CATALOG_ANSWERS, CatalogReadModels
from commerce.identity.application.queries import IDENTITY_ANSWERS, IdentityReadModels
from commerce.orders.application.queries import ORDERS_ANSWERS, OrdersReadModels
from commerce.platform.messaging.queries import Query
from commerce.platform.read_side.answers import Answer, answers_by_query

__all__ = ["ANSWERS", "ReadModels"]


class ReadModels(IdentityReadModels, OrdersReadModels, CatalogReadModels, Protocol):
    """Every context's read models of one tenant, in one read-only transaction."""


ANSWERS: dict[type[Query], Answer[Query, Any, Any]] = answers_by_query(
    *IDENTITY_ANSWERS, *ORDERS_ANSWERS, *CATALOG_ANSWERS
)
"""Every query's answer, by query type."""
