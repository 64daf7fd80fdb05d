"""Queries in the AsyncAPI contract (request channel, reply channel, examples), and the
responder's answers for every outcome, without a broker."""

from types import SimpleNamespace
from typing import Any
from uuid import uuid4

import pytest
from pydantic import SecretStr

from commerce.bootstrap.service import build_service
from commerce.config import BrokerSettings, Settings
from commerce.contract.asyncapi import contract_document
from commerce.contract.query_objects import REPLY_CHANNEL
from commerce.entrypoints.cli.actions import ASYNCAPI_SERVERS
from commerce.entrypoints.worker import include_routers
from commerce.identity.messages.queries import GetUserV1, UserDetailsV1
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.result import Ok
from commerce.platform.messaging.envelope import Envelope, HeaderStyle, message_type_of
from commerce.platform.messaging.queries import Query, QueryFailedV1
from commerce.platform.read_side.query_server import QueryResponder
from commerce.registry.queries import QUERY_ROUTES, query_route_of
from commerce.registry.query_answers import ANSWERS

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module", params=list(ASYNCAPI_SERVERS))
def document(request: pytest.FixtureRequest) -> dict[str, Any]:
    settings = Settings(broker=BrokerSettings(url=SecretStr(ASYNCAPI_SERVERS[request.param])))
    service = build_service(settings)
    include_routers(service)
    return contract_document(service)


def test_every_query_has_a_request_channel_answered_on_the_reply_channel(
    document: dict[str, Any],
) -> None:
    for route in QUERY_ROUTES:
        name = route.channel.name
        channel = document["channels"][name]
        assert list(channel["messages"]) == [route.query.message_type]
        operation = document["operations"][f"{name}.receive"]
        reply = operation["reply"]
        assert reply["channel"] == {"$ref": f"#/channels/{REPLY_CHANNEL}"}
        keys = [ref["$ref"].rsplit("/", 1)[-1] for ref in reply["messages"]]
        assert keys == [f"{route.query.reply.message_type}.reply", "commerce.QueryFailed.v1.reply"]
        assert set(keys) <= set(document["channels"][REPLY_CHANNEL]["messages"])
        assert route.query.__name__ in document["components"]["schemas"]
        assert route.query.reply.__name__ in document["components"]["schemas"]


def test_kafka_requests_name_their_reply_topic_and_correlation_id(
    document: dict[str, Any],
) -> None:
    message = document["components"]["messages"][GetUserV1.message_type]
    kafka = "ce_type" in message["headers"]["properties"]
    required = set(message["headers"]["required"])
    assert {"reply_to", "correlation_id"} <= required if kafka else "ce-tenantid" in required
    for example in message["examples"]:
        GetUserV1.model_validate(example["payload"])


class FakeQueries:
    """Answers from a dict; raises what it is told to."""

    def __init__(self, error: Exception | None = None) -> None:
        self.error = error
        self.asked: list[tuple[TenantId, Query]] = []
        self.answers = ANSWERS

    async def answer(self, tenant: TenantId, query: Query) -> Ok[bytes]:
        if self.error is not None:
            raise self.error
        self.asked.append((tenant, query))
        return Ok(UserDetailsV1(user=None).model_dump_json().encode())


def _message(headers: dict[str, str]) -> Any:
    return SimpleNamespace(headers=headers, content_type="application/json")


def _responder(queries: FakeQueries) -> QueryResponder:
    route = query_route_of(GetUserV1)
    return QueryResponder([route], queries, style=HeaderStyle.RABBIT, source="/commerce")  # type: ignore[arg-type]


async def _reply(queries: FakeQueries, body: bytes, headers: dict[str, str]) -> tuple[str, bytes]:
    response = await _responder(queries)(body, _message(headers))
    return str(message_type_of(response.headers)), response.body


@pytest.mark.parametrize(
    ("case", "code"),
    [
        ("answered", None),
        ("missing-tenant", "missing_tenant"),
        ("invalid-query", "invalid_query"),
        ("wrong-type", "unknown_query"),
        ("database-down", "unavailable"),
        ("garbage-headers", "invalid_envelope"),
    ],
)
async def test_the_responder_always_answers(case: str, code: str | None) -> None:
    tenant = uuid4()
    envelope = Envelope.new(type=GetUserV1.message_type, source="/tests", tenant_id=tenant)
    headers = envelope.headers(HeaderStyle.RABBIT)
    body = GetUserV1(user_id=uuid4()).wire_body()
    queries = FakeQueries(OSError("connection refused") if case == "database-down" else None)
    if case == "missing-tenant":
        headers.pop("ce-tenantid")
    elif case == "invalid-query":
        body = b'{"user_id": 42}'
    elif case == "wrong-type":
        headers["ce-type"] = "commerce.identity.GetUser.v9"
    elif case == "garbage-headers":
        headers.pop("ce-specversion")
    reply_type, reply = await _reply(queries, body, headers)
    if code is None:
        assert reply_type == UserDetailsV1.message_type
        assert queries.asked[0][0] == TenantId(tenant)
        return
    assert reply_type == QueryFailedV1.message_type
    failure = QueryFailedV1.model_validate_json(reply)
    assert failure.reason_code == code
    assert not queries.asked
