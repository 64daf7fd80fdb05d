"""The contract's query channels: one request channel per query, and the reply channel.

Each request channel has a ``receive`` operation (the workers answer it) whose AsyncAPI 3
``reply`` names the reply channel and the two messages an answer can be: the query's reply
type or ``QueryFailed``. RabbitMQ: requests go through the default exchange to the durable
queue of the channel's name, with the AMQP ``reply_to`` (Direct Reply-to) and
``correlation_id`` properties. Kafka: requests are produced to the topic of that name with
``reply_to`` (the reply topic) and ``correlation_id`` headers.
"""

from collections.abc import Iterator
from typing import Any

from commerce.contract.channel_objects import PlannedChannel, namespaced
from commerce.contract.header_objects import COMMAND_REQUIRED, headers_schema
from commerce.platform.messaging.envelope import CONTENT_TYPE, HeaderStyle
from commerce.platform.messaging.queries import (
    KAFKA_QUERY_GROUP,
    KAFKA_REPLY_TOPIC,
    Query,
    QueryFailedV1,
    QueryReply,
    QueryRoute,
)
from commerce.registry.queries import QUERY_ROUTES

__all__ = ["QUERY_MODELS", "REPLY_CHANNEL", "query_channels"]

type Json = dict[str, Any]

REPLY_CHANNEL = "commerce.queries.replies"
"""The name of the reply channel in the documents (on Kafka, also its topic)."""
_DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"
_TENANT = "5b0e3c1a-7f0e-4d8e-9c1e-2a9e0f6c3d41"
_REQUEST_ID = "01946a3b-7a10-7b2c-9d3e-4f5a6b7c8d9e"
_REPLY_ID = "01946a3b-7a12-7c3d-8e4f-5a6b7c8d9e0f"
_SENT_AT = "2025-01-15T09:30:00.000000Z"
_KAFKA_REQUEST: dict[str, Json] = {
    "reply_to": {"type": "string", "description": "The topic to answer on (the reply topic)."},
    "correlation_id": {
        "type": "string",
        "description": "Copied into the reply: the requester matches replies by it.",
    },
}

_REPLIES: tuple[type[QueryReply], ...] = tuple(dict.fromkeys(r.query.reply for r in QUERY_ROUTES))
QUERY_MODELS: tuple[type[Query] | type[QueryReply], ...] = (
    *(route.query for route in QUERY_ROUTES),
    *_REPLIES,
    QueryFailedV1,
)
"""Every payload model of the query channels (their schemas go into the documents)."""


def _examples(model: type[Any]) -> list[Json]:
    extra = model.model_config.get("json_schema_extra")
    examples = extra.get("examples", []) if isinstance(extra, dict) else []
    if not examples:
        raise ValueError(f"{model.__name__} has no examples (model_config json_schema_extra)")
    for example in examples:
        model.model_validate(example)
    return [dict(example) for example in examples]


def _headers(style: HeaderStyle, message_type: str, *, request: bool) -> dict[str, str]:
    attributes = {
        "specversion": "1.0",
        "id": _REQUEST_ID if request else _REPLY_ID,
        "source": "/shop/account" if request else "/commerce",
        "type": message_type,
        "time": _SENT_AT,
        "tenantid": _TENANT,
        "correlationid": _REQUEST_ID,
    }
    if not request:
        attributes["causationid"] = _REQUEST_ID
    headers = {f"{style}{name}": value for name, value in attributes.items()}
    if style is HeaderStyle.KAFKA:
        headers["content-type"] = CONTENT_TYPE
        if request:
            headers |= {"reply_to": KAFKA_REPLY_TOPIC, "correlation_id": _REQUEST_ID}
        else:
            headers["correlation_id"] = _REQUEST_ID
    return headers


def _message(
    model: type[Query] | type[QueryReply], style: HeaderStyle, *, request: bool, about: str
) -> Json:
    kind = model.message_type
    summary = (model.__doc__ or model.__name__).strip().splitlines()[0]
    kafka = style is HeaderStyle.KAFKA
    extra = _KAFKA_REQUEST if kafka and request else {}
    message: Json = {
        "name": kind,
        "title": f"{model.__name__} ({'query' if request else 'reply'})",
        "summary": summary,
        "description": f"{model.__doc__}\n\nCloudEvents type `{kind}`. {about}",
        "contentType": CONTENT_TYPE,
        "correlationId": {
            "description": "The conversation this message belongs to.",
            "location": f"$message.header#/{style}correlationid",
        },
        "headers": headers_schema(
            style,
            kind,
            required=COMMAND_REQUIRED if request else ("specversion", "id", "source", "type"),
            extra=extra,
            extra_required=list(extra),
        ),
        "payload": {"$ref": f"#/components/schemas/{model.__name__}"},
        "examples": [
            {
                "name": f"{model.__name__}-{n}",
                "summary": summary,
                "headers": _headers(style, kind, request=request),
                "payload": payload,
            }
            for n, payload in enumerate(_examples(model), 1)
        ],
    }
    return message


def _reply_key(model: type[QueryReply]) -> str:
    return f"{model.message_type}.reply"


def _request_channel(route: QueryRoute, style: HeaderStyle, namespace: str) -> PlannedChannel:
    channel, query = route.channel, route.query
    address = namespaced(namespace, channel.name)
    group = namespaced(namespace, KAFKA_QUERY_GROUP)
    kafka = style is HeaderStyle.KAFKA
    where = (
        f"Produce to topic `{address}` with the headers `reply_to` (your reply topic, e.g. "
        f"`{namespaced(namespace, KAFKA_REPLY_TOPIC)}`) and `correlation_id`; consumer group "
        f"`{group}` (every query topic) answers, starting from the newest requests."
        if kafka
        else f"Publish through the default exchange to the durable queue `{address}` with the "
        f"AMQP properties `reply_to` = `{_DIRECT_REPLY_TO}` (Direct Reply-to), "
        "`correlation_id`, and an `expiration` no longer than you will wait. Requests are "
        "acknowledged on receipt: ask again after a timeout."
    )
    reply: Json = {
        "channel": {"$ref": f"#/channels/{REPLY_CHANNEL}"},
        "messages": [
            {"$ref": f"#/channels/{REPLY_CHANNEL}/messages/{_reply_key(model)}"}
            for model in (query.reply, QueryFailedV1)
        ],
    }
    if kafka:
        reply["address"] = {
            "description": "The topic the requester named.",
            "location": "$message.header#/reply_to",
        }
    return PlannedChannel(
        channel.name,
        address,
        f"{query.__name__.removesuffix('V1')} queries",
        f"{channel.description}\n\n{where}\n\nThe answer is `{query.reply.message_type}` or "
        f"`{QueryFailedV1.message_type}`, on the reply channel with the request's correlation "
        "id. Queries are read-only: ask again after a timeout.",
        {query.message_type: _message(query, style, request=True, about="A request.")},
        ("receive",),
        {"receive": f"Answer {query.__name__.removesuffix('V1')} from the read models"},
        group=group if kafka else None,
        reply=reply,
    )


def _reply_channel(style: HeaderStyle, namespace: str) -> PlannedChannel:
    kafka = style is HeaderStyle.KAFKA
    answers: list[type[QueryReply]] = [*_REPLIES, QueryFailedV1]
    messages = {
        _reply_key(model): _message(
            model, style, request=False, about="An answer, sent to the request's reply address."
        )
        for model in answers
    }
    where = (
        f"Topic `{namespaced(namespace, KAFKA_REPLY_TOPIC)}` (or whichever topic a request names "
        "in `reply_to`); requesters read it from its end, without a consumer group, and keep the "
        "replies whose `correlation_id` they wait for."
        if kafka
        else "RabbitMQ Direct Reply-to: the reply goes to the requester's channel through the "
        "default exchange, with the request's `correlation_id`."
    )
    return PlannedChannel(
        REPLY_CHANNEL,
        namespaced(namespace, KAFKA_REPLY_TOPIC) if kafka else _DIRECT_REPLY_TO,
        "Query replies",
        f"Answers to queries.\n\n{where}",
        messages,
        ("send",),
        {"send": "Answer a query"},
    )


def query_channels(style: HeaderStyle, namespace: str) -> Iterator[PlannedChannel]:
    """Every query's request channel, then the reply channel."""
    for route in QUERY_ROUTES:
        yield _request_channel(route, style, namespace)
    yield _reply_channel(style, namespace)
