"""The Elasticsearch adapter's reading of bulk answers: 409 is applied, 429/5xx retried
through the broker, other refusals dead-lettered (the protocol server never answers 429)."""

from typing import Any
from uuid import uuid4

import pytest

from commerce.search.adapters.elasticsearch_index import (
    ElasticsearchItemIndex,
    IndexingRejectedError,
    RetryableIndexingError,
)
from tests.search.documents import item

pytestmark = pytest.mark.unit


class _Indices:
    async def exists_alias(self, *, name: str) -> bool:
        return True


class _AnsweringClient:
    """Answers every bulk request with the given per-item statuses."""

    def __init__(self, statuses: list[int]) -> None:
        self.indices = _Indices()
        self._statuses = statuses

    async def bulk(self, *, operations: list[dict[str, Any]], refresh: bool) -> dict[str, Any]:
        return {
            "errors": any(s >= 300 for s in self._statuses),
            "items": [{"index": {"status": s}} for s in self._statuses],
        }


def _index(statuses: list[int]) -> ElasticsearchItemIndex:
    return ElasticsearchItemIndex(_AnsweringClient(statuses))  # type: ignore[arg-type]


async def test_conflicts_are_already_applied_and_not_counted() -> None:
    index = _index([201, 409, 200])
    assert await index.put(uuid4(), [item("a"), item("b"), item("c")]) == 2


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_throttled_or_failed_items_raise_for_a_redelivery(status: int) -> None:
    with pytest.raises(RetryableIndexingError):
        await _index([201, status]).put(uuid4(), [item("a"), item("b")])


async def test_a_refused_document_raises_for_the_dead_letter_queue() -> None:
    with pytest.raises(IndexingRejectedError):
        await _index([201, 400]).put(uuid4(), [item("a"), item("b")])
