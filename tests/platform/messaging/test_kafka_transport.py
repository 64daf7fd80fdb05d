"""FastStream's real ``KafkaBroker`` against the session Kafka (Tansu by default).

Proves what the service relies on: group subscribers with explicit acknowledgement,
headers and keys intact, commits honoured across consumer restarts, per-key order.
"""

import asyncio
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from tests.support.tansu import FAST_GROUP_TIMEOUTS, TansuBroker, ensure_topics, probe_kafka

__all__: list[str] = []

pytestmark = pytest.mark.integration

HEADERS = {
    "ce-id": "6d1f7c3e-0f4b-4d55-9d0c-2b3f2c1d9a10",
    "ce-type": "commerce.order.placed.v1",
    "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    "x-note": "naïve café, spaced value",
    "x-empty": "",
}
WAIT = 20.0


def unique(prefix: str) -> str:
    """Return a name no other test run uses."""
    return f"{prefix}-{uuid4().hex[:12]}"


def group_subscriber(broker: KafkaBroker, topic: str, group: str, ack_policy: AckPolicy) -> Any:
    """A group subscriber tuned for fast joins that reads the topic from the start."""
    return broker.subscriber(
        topic,
        group_id=group,
        ack_policy=ack_policy,
        auto_offset_reset="earliest",
        **FAST_GROUP_TIMEOUTS,
    )


async def publish(bootstrap: str, topic: str, *bodies: Any, key: bytes = b"k") -> None:
    """Publish ``bodies`` in order with one key."""
    async with KafkaBroker(bootstrap) as broker:
        for body in bodies:
            await broker.publish(body, topic, key=key)


async def consume_first(bootstrap: str, topic: str, group: str, *, ack: bool) -> tuple[Any, int]:
    """Join ``group`` with a new consumer and return the first (body, offset) it gets."""
    first: asyncio.Future[tuple[Any, int]] = asyncio.get_running_loop().create_future()
    broker = KafkaBroker(bootstrap)

    @group_subscriber(broker, topic, group, AckPolicy.MANUAL)
    async def handle(body: str, msg: KafkaMessage) -> None:
        if first.done():
            return
        if ack:
            await msg.ack()
        first.set_result((body, msg.raw_message.offset))

    async with broker:
        await broker.start()
        return await asyncio.wait_for(first, WAIT)


async def test_group_subscriber_gets_key_and_headers_and_commits(kafka_bootstrap: str) -> None:
    topic, group = unique("kafka-headers"), unique("group")
    await ensure_topics(kafka_bootstrap, [topic], partitions=3)
    received: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()
    broker = KafkaBroker(kafka_bootstrap)
    subscriber = group_subscriber(broker, topic, group, AckPolicy.MANUAL)

    @subscriber
    async def handle(body: dict[str, str], msg: KafkaMessage) -> None:
        await msg.ack()
        if not received.done():
            received.set_result((body, msg))

    async with broker:
        await broker.start()
        await broker.publish({"order_id": "o-1"}, topic, key=b"order-1", headers=HEADERS)
        body, msg = await asyncio.wait_for(received, WAIT)
        record = msg.raw_message
        committed = await subscriber.consumer.committed(TopicPartition(topic, record.partition))

    assert body == {"order_id": "o-1"}
    assert record.key == b"order-1"
    assert {name: msg.headers.get(name) for name in HEADERS} == HEADERS
    assert dict(record.headers)["x-note"] == HEADERS["x-note"].encode()
    assert committed == record.offset + 1


async def test_unacked_message_is_redelivered_to_next_consumer(kafka_bootstrap: str) -> None:
    topic, group = unique("kafka-redelivery"), unique("group")
    await ensure_topics(kafka_bootstrap, [topic])
    await publish(kafka_bootstrap, topic, "first")

    assert await consume_first(kafka_bootstrap, topic, group, ack=False) == ("first", 0)
    assert await consume_first(kafka_bootstrap, topic, group, ack=True) == ("first", 0)

    await publish(kafka_bootstrap, topic, "second")
    assert await consume_first(kafka_bootstrap, topic, group, ack=True) == ("second", 1)


async def test_nack_on_error_redelivers_in_place(kafka_bootstrap: str) -> None:
    topic, group = unique("kafka-nack"), unique("group")
    await ensure_topics(kafka_bootstrap, [topic])
    attempts: list[int] = []
    done = asyncio.Event()
    broker = KafkaBroker(kafka_bootstrap)

    @group_subscriber(broker, topic, group, AckPolicy.NACK_ON_ERROR)
    async def handle(body: str, msg: KafkaMessage) -> None:
        attempts.append(msg.raw_message.offset)
        if len(attempts) == 1:
            raise RuntimeError("transient failure")
        done.set()

    async with broker:
        await broker.start()
        await broker.publish("payload", topic, key=b"k")
        await asyncio.wait_for(done.wait(), WAIT)

    assert attempts == [0, 0]


async def test_per_key_order_holds_for_200_messages(kafka_bootstrap: str) -> None:
    topic, group, count = unique("kafka-order"), unique("group"), 200
    await ensure_topics(kafka_bootstrap, [topic], partitions=4)
    seen: list[tuple[int, int]] = []
    done = asyncio.Event()
    broker = KafkaBroker(kafka_bootstrap)

    @group_subscriber(broker, topic, group, AckPolicy.NACK_ON_ERROR)
    async def handle(body: int, msg: KafkaMessage) -> None:
        seen.append((body, msg.raw_message.partition))
        if len(seen) >= count:
            done.set()

    async with broker:
        await broker.start()
        sent = [
            await broker.publish(seq, topic, key=b"order-42", no_confirm=True)
            for seq in range(count)
        ]
        await asyncio.wait_for(asyncio.gather(*sent), WAIT)
        await asyncio.wait_for(done.wait(), WAIT)

    assert [seq for seq, _ in seen] == list(range(count))
    assert len({partition for _, partition in seen}) == 1


async def topic_names(bootstrap: str) -> set[str]:
    """The topics the broker knows."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        return set(await admin.list_topics())
    finally:
        await admin.close()


async def test_tansu_restart_keeps_port_and_memory_storage_starts_empty() -> None:
    with TansuBroker() as tansu:
        bootstrap = tansu.bootstrap
        await ensure_topics(bootstrap, ["before-restart"])
        tansu.restart()
        assert tansu.bootstrap == bootstrap
        await asyncio.wait_for(probe_kafka(bootstrap), WAIT)
        assert "before-restart" not in await topic_names(bootstrap)
        await ensure_topics(bootstrap, ["after-restart"])
    assert not tansu.running
