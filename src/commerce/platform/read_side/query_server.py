"""Answering queries over the broker: the request subscriber per query channel, and the
handler turning a request into a reply (through the cache, in the request's tenant).

Both transports use FastStream's reply-to support: a handler's return value is published
to the request's ``reply_to`` with its correlation id (RabbitMQ: the requester's Direct
Reply-to pseudo-queue; Kafka: the reply topic named in the ``reply_to`` header).
Requests are acknowledged whatever happens (``AckPolicy.ACK``): a query has no effect,
so instead of a retry or a dead letter the requester gets a ``QueryFailed`` reply.

No ``from __future__ import annotations`` here: FastStream reads the handler's annotations
at runtime.
"""

from collections.abc import Mapping, Sequence
from typing import Annotated, Any

import structlog
from faststream import AckPolicy, Context, StreamMessage
from faststream.kafka import KafkaResponse, KafkaRouter, Topic
from faststream.rabbit import RabbitQueue, RabbitResponse, RabbitRouter
from faststream.response import Response
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from commerce.platform.kit.ids import TenantId, new_uuid7
from commerce.platform.kit.result import Err, Ok
from commerce.platform.messaging.envelope import (
    CONTENT_TYPE,
    SPEC_VERSION,
    Envelope,
    EnvelopeError,
    HeaderStyle,
    MissingTenantError,
    message_type_of,
    parse_envelope,
)
from commerce.platform.messaging.queries import (
    KAFKA_QUERY_GROUP,
    QUERY_FAILED_REASONS,
    QueryFailedV1,
    QueryRoute,
)
from commerce.platform.messaging.transport import AnyRouter, SubscriberDecorator, namespaced
from commerce.platform.observability.metrics import QueryObservation, observe_query
from commerce.platform.read_side.query_service import QueryService

__all__ = ["QueryResponder", "query_subscriber", "reply_headers"]

_log = structlog.get_logger("commerce.queries")


def query_subscriber(
    router: AnyRouter,
    routes: Sequence[QueryRoute],
    *,
    namespace: str,
    partitions: int,
    concurrency: int = 16,
) -> SubscriberDecorator:
    """Subscribe a handler to the request channels of ``routes``; workers share the load.

    Requests are acknowledged on receipt (``ACK_FIRST``): a query has no effect, and a
    requester whose request was lost with a worker asks again after its timeout.
    RabbitMQ: one durable queue of the channel's name (reached through the default
    exchange); give one route per call, the channel's prefetch bounds the concurrency.
    Kafka: one consumer in group ``commerce.queries`` reading every route's topic from the
    newest request (older ones have nobody waiting), ``concurrency`` requests at a time.
    """

    def raw_body(message: StreamMessage[Any]) -> bytes:
        return bytes(message.body)

    subscriber: SubscriberDecorator
    if isinstance(router, RabbitRouter):
        (route,) = routes
        subscriber = router.subscriber(
            RabbitQueue(namespaced(namespace, route.channel.name), durable=True),
            ack_policy=AckPolicy.ACK_FIRST,
            decoder=raw_body,
            title=route.channel.name,
            description=route.channel.description,
        )
    else:
        assert isinstance(router, KafkaRouter)
        subscriber = router.subscriber(
            *(
                Topic(namespaced(namespace, route.channel.name), num_partitions=partitions)
                for route in routes
            ),
            group_id=namespaced(namespace, KAFKA_QUERY_GROUP),
            ack_policy=AckPolicy.ACK_FIRST,
            auto_offset_reset="latest",
            max_workers=concurrency,
            decoder=raw_body,
            title=KAFKA_QUERY_GROUP,
            description="Every query channel, answered by the workers' query consumers.",
        )
    return subscriber


def reply_headers(
    style: HeaderStyle, reply_type: str, request: Envelope | None, *, source: str
) -> dict[str, str]:
    """CloudEvents headers of a reply: same conversation and tenant as the request."""
    message_id = new_uuid7()
    if request is None:
        prefix = str(style)
        headers = {
            f"{prefix}specversion": SPEC_VERSION,
            f"{prefix}id": str(message_id),
            f"{prefix}source": source,
            f"{prefix}type": reply_type,
        }
        if style is HeaderStyle.KAFKA:
            headers["content-type"] = CONTENT_TYPE
        return headers
    reply = request.caused(
        message_id=message_id, type=reply_type, source=source, subject=request.subject or ""
    )
    return reply.headers(style)


class QueryResponder:
    """The handler of query channels: find the query type, validate, answer, reply."""

    def __init__(
        self,
        routes: Sequence[QueryRoute],
        queries: QueryService,
        *,
        style: HeaderStyle,
        source: str,
    ) -> None:
        self._routes = {route.query.message_type: route for route in routes}
        missing = [r.query.__name__ for r in routes if r.query not in queries.answers]
        if missing:
            raise LookupError(f"no answer is defined for {', '.join(missing)}")
        self._queries = queries
        self._style = style
        self._source = source
        self.__name__ = "answer_query"  # FastStream names the operation after it

    async def __call__(
        self, body: bytes, message: Annotated[StreamMessage[Any], Context("message")]
    ) -> Response:
        """Answer one request (``body`` is the raw query JSON)."""
        query_type = message_type_of(message.headers) or "unknown"
        route = self._routes.get(query_type)
        with observe_query(query_type if route else "unknown") as observed:
            envelope: Envelope | None = None
            try:
                envelope = parse_envelope(message.headers, message.content_type)
                if route is None:
                    return self._failed(envelope, query_type, "unknown_query", observed)
                return await self._answer(route, envelope, body, observed)
            except MissingTenantError:
                return self._failed(None, query_type, "missing_tenant", observed)
            except EnvelopeError:
                return self._failed(None, query_type, "invalid_envelope", observed)
            except ValidationError as error:
                return self._failed(envelope, query_type, "invalid_query", observed, error)
            except (SQLAlchemyError, OSError) as error:
                _log.error("query not answered", query_type=query_type, error=repr(error))
                return self._failed(envelope, query_type, "unavailable", observed)

    async def _answer(
        self, route: QueryRoute, envelope: Envelope, body: bytes, observed: QueryObservation
    ) -> Response:
        """The reply, or ``QueryFailed`` when the query asks for what cannot be answered."""
        query = route.query.model_validate_json(body)
        match await self._queries.answer(TenantId(envelope.tenant_id), query):
            case Err(refusal):
                code = "invalid_query"
                return self._failed(envelope, query.message_type, code, observed, refusal)
            case Ok(answer):
                observed.outcome = "answered"
                return self._reply(answer, envelope, route.query.reply.message_type)

    def _failed(
        self,
        envelope: Envelope | None,
        query_type: str,
        code: str,
        observed: QueryObservation,
        error: Exception | None = None,
    ) -> Response:
        observed.outcome = code
        reason = QUERY_FAILED_REASONS[code]
        if isinstance(error, ValidationError):
            first = error.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "payload"
            reason = f"{reason}: {where}: {first['msg']}"
        elif error is not None:
            reason = f"{reason}: {error}"
        failed = QueryFailedV1(query_type=query_type, reason_code=code, reason=reason)
        return self._reply(failed.model_dump_json().encode(), envelope, failed.message_type)

    def _reply(self, body: bytes, envelope: Envelope | None, reply_type: str) -> Response:
        headers: Mapping[str, str] = reply_headers(
            self._style, reply_type, envelope, source=self._source
        )
        if self._style is HeaderStyle.KAFKA:
            return KafkaResponse(body, headers=dict(headers))
        return RabbitResponse(body, headers=dict(headers), content_type=CONTENT_TYPE)
