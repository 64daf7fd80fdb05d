"""Queries on the wire: request and reply payloads, and one channel per query type.

A query is a request/reply exchange over the broker: the requester sends the query (a
CloudEvents message like a command: ``ce-type`` is the versioned query type, ``ce-tenantid``
the tenant whose data it reads) with a reply address, and one worker answers to that
address with the reply, correlated by the request's correlation id. The answer is the
query's ``Reply`` type (``ce-type`` its ``message_type``), or :class:`QueryFailedV1` when the
query cannot be answered (invalid payload, no tenant, an internal error). Queries change
nothing: they may be asked again freely, and are never retried or dead-lettered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "KAFKA_QUERY_GROUP",
    "KAFKA_REPLY_TOPIC",
    "QUERY_FAILED_REASONS",
    "Query",
    "QueryChannel",
    "QueryFailedV1",
    "QueryReply",
    "QueryRoute",
]


class QueryReply(BaseModel):
    """Base of reply payloads: immutable, tolerant of fields added by newer servers."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    message_type: ClassVar[str]
    """The CloudEvents ``type`` of the reply, versioned."""


class Query(BaseModel):
    """Base of query payloads: strict, immutable, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)

    message_type: ClassVar[str]
    """The CloudEvents ``type`` of the query, versioned."""
    reply: ClassVar[type[QueryReply]]
    """The payload type of a successful answer."""

    def wire_body(self) -> bytes:
        """The JSON body to send (also the canonical form a cache key is built from)."""
        return self.model_dump_json().encode()


QUERY_FAILED_REASONS = {
    "invalid_query": "the payload does not match the query's schema",
    "invalid_envelope": "the CloudEvents headers are missing or malformed",
    "missing_tenant": "no valid `tenantid`: nobody's data can be read",
    "unknown_query": "the channel does not answer this query type",
    "unavailable": "the read model could not be read (database down); ask again later",
}
"""``reason_code`` of :class:`QueryFailedV1` and what each means."""


class QueryFailedV1(QueryReply):
    """The query could not be answered; ``reason_code`` says why."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "query_type": "commerce.identity.GetUser.v1",
                    "reason_code": "missing_tenant",
                    "reason": "no valid `tenantid`: nobody's data can be read",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.QueryFailed.v1"

    query_type: str = Field(description="The CloudEvents type of the query (may be unknown).")
    reason_code: str = Field(
        description="Machine-readable: " + ", ".join(f"`{code}`" for code in QUERY_FAILED_REASONS)
    )
    reason: str = Field(description="Human-readable explanation.")


@dataclass(frozen=True, slots=True)
class QueryChannel:
    """A request channel carrying one query type; every worker answers from it."""

    name: str
    description: str

    @property
    def consumer(self) -> str:
        """The consumer group / queue name of the answering workers (the channel's name)."""
        return self.name


@dataclass(frozen=True, slots=True)
class QueryRoute:
    """One query type and the channel that carries it."""

    channel: QueryChannel
    query: type[Query]


KAFKA_QUERY_GROUP = "commerce.queries"
"""Kafka: the consumer group of the workers answering every query topic."""


KAFKA_REPLY_TOPIC = "commerce.queries.replies"
"""Kafka: the topic requesters read their replies from (each reads every partition and
keeps the replies whose correlation id it is waiting for)."""
