"""How a query is answered: what it asks for, the read-model rows it reads, its cache tags.

An answer first reads the query's arguments (:attr:`Answer.arguments`): a query can be
valid JSON and still ask for something the service cannot answer, such as a page cursor
it never handed out; that is an expected outcome, an :class:`Err` the query server turns
into ``QueryFailed``, and nothing is read or cached.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.result import Ok, Result
from commerce.platform.messaging.queries import Query, QueryReply

__all__ = ["Answer", "InvalidQuery", "answers_by_query", "plain_answer"]


class InvalidQuery(ValueError):
    """A well-formed query this service cannot answer (e.g. a cursor it did not hand out)."""


@dataclass(frozen=True, slots=True)
class Answer[Q: Query, A, M]:
    """How one query type is answered and which read-model rows its answer depends on.

    ``arguments`` reads what the query asks for (``A``), or refuses it; ``answer`` reads
    the models for those arguments.
    """

    query: type[Q]
    tags: Callable[[TenantId, Q], list[str]]
    arguments: Callable[[Q], Result[A, InvalidQuery]]
    answer: Callable[[M, A], Awaitable[QueryReply]]


def plain_answer[Q: Query, M](
    query: type[Q],
    tags: Callable[[TenantId, Q], list[str]],
    answer: Callable[[M, Q], Awaitable[QueryReply]],
) -> Answer[Q, Q, M]:
    """The answer of a query that asks for nothing more than itself (never refused)."""
    return Answer(query, tags, Ok, answer)


def answers_by_query(*answers: Answer[Any, Any, Any]) -> dict[type[Query], Answer[Query, Any, Any]]:
    """The answers, by the query type each answers."""
    return {answer.query: cast("Answer[Query, Any, Any]", answer) for answer in answers}
