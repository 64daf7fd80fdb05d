"""Answering a query: through the cache, else from the read models in one read-only,
tenant-scoped transaction; a query asking for what cannot be answered is refused first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.result import Err, Ok, Result
from commerce.platform.messaging.queries import Query
from commerce.platform.read_side.answers import Answer, InvalidQuery
from commerce.platform.read_side.ports import QueryCache, ReadSessionFactory

__all__ = ["QueryService", "cache_key"]


def cache_key(tenant: TenantId, query: Query) -> str:
    """The cache key of ``query`` asked by ``tenant``: type, tenant, canonical JSON."""
    return f"{query.message_type}:{tenant}:{query.wire_body().decode()}"


class QueryService:
    """Answers queries with their serialised reply payload (JSON bytes)."""

    def __init__(
        self,
        cache: QueryCache,
        sessions: ReadSessionFactory[Any],
        answers: Mapping[type[Query], Answer[Query, Any, Any]],
    ) -> None:
        self._cache = cache
        self._sessions = sessions
        self.answers = answers
        """How each query type is answered."""

    async def answer(self, tenant: TenantId, query: Query) -> Result[bytes, InvalidQuery]:
        """The reply to ``query`` in ``tenant``'s data, cached under the rows it read; or
        why the query cannot be answered (nothing is read or cached then)."""
        answer = self.answers[type(query)]
        match answer.arguments(query):
            case Err() as refused:
                return refused
            case Ok(arguments):
                pass

        async def load() -> bytes:
            async with self._sessions(tenant) as models:
                reply = await answer.answer(models, arguments)
            return reply.model_dump_json().encode()

        tags = answer.tags(tenant, query)
        return Ok(await self._cache.get_or_load(cache_key(tenant, query), tags, load))
