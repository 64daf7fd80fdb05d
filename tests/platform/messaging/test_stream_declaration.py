"""Declaring the event streams at start-up: every stream, as its publishers declare it.

RabbitMQ refuses a redeclaration with other arguments (PRECONDITION_FAILED), so the
exchanges declared at start-up must be the very ones publishing declares; Kafka answers an
existing topic with an error code that is no failure, and any other refusal must not let
the worker report ready.
"""

from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.admin import NewTopic
from faststream.rabbit import ExchangeType, RabbitExchange

from commerce.platform.messaging import rabbitmq_publisher
from commerce.platform.messaging.kafka import KafkaTransport
from commerce.platform.messaging.rabbitmq import RabbitTransport
from commerce.platform.messaging.transport import OutgoingMessage
from commerce.registry.channels import EVENT_STREAMS

pytestmark = pytest.mark.unit

TOPIC_ALREADY_EXISTS = 36
INVALID_PARTITIONS = 37


class _Exchange:
    """A declared exchange; publishing to it writes nothing (only declarations matter)."""

    name = "declared"


def _arguments(exchange: RabbitExchange) -> tuple[Any, ...]:
    return (
        exchange.name,
        exchange.type,
        exchange.durable,
        exchange.auto_delete,
        exchange.arguments,
    )


async def test_rabbitmq_declares_every_stream_exchange_with_the_publishers_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    transport = RabbitTransport("amqp://guest:guest@127.0.0.1:5672/", prefetch=1, namespace="t1")
    declared: list[RabbitExchange] = []

    async def declare_exchange(exchange: RabbitExchange) -> _Exchange:
        declared.append(exchange)
        return _Exchange()

    async def nothing_written(*_: Any) -> list[Any]:
        return []

    async def underlay(_: Any) -> object:
        return object()

    monkeypatch.setattr(transport.broker, "declare_exchange", declare_exchange)
    monkeypatch.setattr(rabbitmq_publisher, "_underlay", underlay)
    monkeypatch.setattr(rabbitmq_publisher.RabbitEventPublisher, "_write", nothing_written)

    await transport.declare_streams(EVENT_STREAMS)
    at_start_up = [_arguments(exchange) for exchange in declared]
    declared.clear()
    message = OutgoingMessage(body=b"{}", key="aggregate-1")
    for stream in EVENT_STREAMS:
        await transport.publish_events([(stream.name, message)])

    assert [name for name, *_ in at_start_up] == [f"t1.{s.name}" for s in EVENT_STREAMS]
    assert {(kind, durable, auto_delete) for _, kind, durable, auto_delete, _ in at_start_up} == {
        (ExchangeType.TOPIC, True, False)
    }
    assert at_start_up == [_arguments(exchange) for exchange in declared], (
        "the same exchanges, with the same arguments, as publishing declares"
    )


class _Admin:
    """An admin client answering each topic with the given error code (0 by default)."""

    def __init__(self, codes: dict[str, int]) -> None:
        self.codes = codes
        self.requested: list[NewTopic] = []

    async def create_topics(self, new_topics: list[NewTopic], **_: Any) -> Any:
        self.requested.extend(new_topics)
        errors = [(topic.name, self.codes.get(topic.name, 0), None) for topic in new_topics]
        return SimpleNamespace(topic_errors=errors)


def _kafka(admin: _Admin) -> KafkaTransport:
    transport = KafkaTransport("127.0.0.1:9092", namespace="t1", partitions=6)
    transport.broker.config.admin.admin_client = admin
    return transport


async def test_kafka_creates_every_stream_topic_and_takes_an_existing_one_as_it_is() -> None:
    admin = _Admin({"t1.commerce.identity.user": TOPIC_ALREADY_EXISTS})

    await _kafka(admin).declare_streams(EVENT_STREAMS)

    assert [topic.name for topic in admin.requested] == [f"t1.{s.name}" for s in EVENT_STREAMS]
    assert {topic.num_partitions for topic in admin.requested} == {6}


async def test_kafka_refusing_a_stream_topic_fails_the_declaration() -> None:
    admin = _Admin({"t1.commerce.rejections": INVALID_PARTITIONS})

    with pytest.raises(RuntimeError, match=r"t1\.commerce\.rejections"):
        await _kafka(admin).declare_streams(EVENT_STREAMS)
