"""A downstream consumer written only from the AsyncAPI document binds before any event.

The worker is started as ``commerce run worker`` (no relay: nothing is published) with a
namespace of its own; as soon as ``/ready`` answers 200, and before any command is sent,
a consumer reads the committed ``asyncapi/<transport>.yaml``, takes every event stream the
document names and subscribes to each. No stream may be missing until its first event.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aio_pika
import pytest
import yaml
from aio_pika.exceptions import ChannelNotFoundEntity, ChannelPreconditionFailed
from aiokafka import AIOKafkaConsumer

from commerce.config import Settings
from commerce.platform.messaging.transport import namespaced
from tests.support.database import ProvisionedDatabase
from tests.support.processes import ServiceProcesses
from tests.support.tansu import free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

DOCUMENTS = Path(__file__).resolve().parents[2] / "asyncapi"


def _document(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((DOCUMENTS / name).read_text())
    return loaded


def rabbit_stream_exchanges(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each event stream's exchange, by channel: the channels routed by key through an
    exchange of their own (``is: routingKey``, a named topic exchange), as AMQP binding
    0.3.0 describes them; retries and dead letters go through the default exchange."""
    streams = {}
    for key, channel in document["channels"].items():
        amqp = channel.get("bindings", {}).get("amqp", {})
        exchange = amqp.get("exchange", {})
        if amqp.get("is") == "routingKey" and exchange.get("type") == "topic":
            streams[key] = exchange
    return streams


def kafka_stream_topics(document: dict[str, Any]) -> dict[str, str]:
    """Each event stream's topic, by channel: the topics the service sends messages of its
    own to (each message named by its CloudEvents type, not a retry or dead-letter copy of
    another), keyed by aggregate (``ce_subject`` required: not a query reply)."""
    messages = document["components"]["messages"]
    sent = {
        operation["channel"]["$ref"].rsplit("/", 1)[-1]
        for operation in document["operations"].values()
        if operation["action"] == "send"
    }

    def published_event(reference: dict[str, str]) -> bool:
        message = messages[reference["$ref"].rsplit("/", 1)[-1]]
        headers = message.get("headers", {})
        own_type = headers.get("properties", {}).get("ce_type", {}).get("const")
        return message["name"] == own_type and "ce_subject" in headers.get("required", [])

    streams = {}
    for key in sent:
        channel = document["channels"][key]
        topic = channel.get("bindings", {}).get("kafka", {}).get("topic")
        carried = list(channel.get("messages", {}).values())
        if topic and carried and all(published_event(message) for message in carried):
            streams[key] = topic
    return streams


@asynccontextmanager
async def ready_worker(
    provisioned_database: ProvisionedDatabase, broker_url: str, tmp_path: Path
) -> AsyncIterator[Settings]:
    """``commerce run worker`` in a fresh namespace, once ``/ready`` answered 200."""
    settings = settings_for(provisioned_database, broker_url)
    settings.http.port = free_port()
    with ServiceProcesses(environment_for(settings), tmp_path) as services:
        services.start("worker")
        await services.ready("worker", f"http://127.0.0.1:{settings.http.port}")
        yield settings


async def test_a_consumer_written_from_the_rabbitmq_document_binds_every_stream_at_ready(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    streams = rabbit_stream_exchanges(_document("rabbitmq.yaml"))
    assert streams, "the document names the event streams' exchanges"
    missing: list[str] = []
    conflicting: list[str] = []
    async with ready_worker(provisioned_database, rabbit_url, tmp_path) as settings:
        connection = await aio_pika.connect(rabbit_url)
        try:
            for exchange in streams.values():
                name = namespaced(settings.broker.namespace, exchange["name"])
                channel = await connection.channel()
                try:
                    declared = await channel.declare_exchange(name, exchange["type"], passive=True)
                    queue = await channel.declare_queue("", exclusive=True)
                    await queue.bind(declared, routing_key="#")
                except ChannelNotFoundEntity:
                    missing.append(name)
                    continue
                channel = await connection.channel()
                try:  # as a consumer that declares what it binds to, with the document's
                    await channel.declare_exchange(
                        name,
                        exchange["type"],
                        durable=exchange["durable"],
                        auto_delete=exchange["autoDelete"],
                    )
                except ChannelPreconditionFailed:
                    conflicting.append(name)
        finally:
            await connection.close()
    assert missing == [], "every stream's exchange exists once the worker is ready"
    assert conflicting == [], "declaring it as the document describes it never conflicts"


async def test_every_stream_topic_of_the_kafka_document_exists_at_ready(
    provisioned_database: ProvisionedDatabase, kafka_bootstrap: str, tmp_path: Path
) -> None:
    streams = kafka_stream_topics(_document("kafka.yaml"))
    assert streams, "the document names the event streams' topics"
    async with ready_worker(provisioned_database, f"kafka://{kafka_bootstrap}", tmp_path) as (
        settings
    ):
        consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap)
        await consumer.start()
        try:
            existing = await consumer.topics()  # refreshes the metadata of every topic
            wanted = {namespaced(settings.broker.namespace, topic) for topic in streams.values()}
            partitions = {
                topic: len(consumer.partitions_for_topic(topic) or ())
                for topic in sorted(wanted & existing)
            }
        finally:
            await consumer.stop()
    assert sorted(wanted - existing) == [], "every stream's topic exists once the worker is ready"
    assert set(partitions.values()) == {settings.broker.partitions}, (
        "each with the partitions the ordered consumers count on"
    )
