"""Answering a query: through the cache, else from the read models in one read-only,
tenant-scoped transaction."""

from __future__ import annotations

from collections.abc import Mapping

from commerce.adapters.query_answers import ANSWERS, Answer
from commerce.application.read_side import QueryCache, ReadSessionFactory
from commerce.domain.values import TenantId
from commerce.messages.queries import Query

__all__ = ["QueryService", "cache_key"]


def cache_key(tenant: TenantId, query: Query) -> str:
    """The cache key of ``query`` asked by ``tenant``: type, tenant, canonical JSON."""
    return f"{query.message_type}:{tenant}:{query.wire_body().decode()}"


class QueryService:
    """Answers queries with their serialised reply payload (JSON bytes)."""

    def __init__(
        self,
        cache: QueryCache,
        sessions: ReadSessionFactory,
        answers: Mapping[type[Query], Answer[Query]] = ANSWERS,
    ) -> None:
        self._cache = cache
        self._sessions = sessions
        self._answers = answers

    async def answer(self, tenant: TenantId, query: Query) -> bytes:
        """The reply to ``query`` in ``tenant``'s data, cached under the rows it read."""
        answer = self._answers[type(query)]

        async def load() -> bytes:
            async with self._sessions(tenant) as models:
                reply = await answer.answer(models, query)
            return reply.model_dump_json().encode()

        return await self._cache.get_or_load(
            cache_key(tenant, query), answer.tags(tenant, query), load
        )
