"""Tansu on S3 storage (a local in-memory S3 server) keeps its data across a broker restart.

Proves what reliability tests that restart Kafka mid-run rely on: topics, records (keys and
headers included) and committed group offsets survive :meth:`TansuBroker.restart`, and
FastStream's ``KafkaBroker`` publishes and consumes again by itself afterwards. Restart
time and producer throughput (memory vs S3) are reported in each test's report section
(``pytest -rP``).
"""

import asyncio
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage

from tests.support.s3 import S3Server
from tests.support.tansu import FAST_GROUP_TIMEOUTS, TansuBroker, ensure_topics

__all__: list[str] = []

pytestmark = pytest.mark.integration

WAIT = 20.0
RECONNECT_BOUND = 30.0
"""Seconds a FastStream client may take to publish and consume again after a restart."""

Row = tuple[int, int, bytes | None, bytes | None, tuple[tuple[str, bytes], ...]]
"""(partition, offset, key, value, headers) of one record."""


def unique(prefix: str) -> str:
    """Return a name no other test run uses."""
    return f"{prefix}-{uuid4().hex[:12]}"


def row(record: ConsumerRecord[bytes, bytes]) -> Row:
    """The parts of a record that must survive a restart."""
    headers = tuple((name, bytes(value)) for name, value in record.headers)
    return record.partition, record.offset, record.key, record.value, headers


def report(request: pytest.FixtureRequest, **numbers: float) -> None:
    """Attach measurements to the test report (shown by ``pytest -rP``) and junit XML."""
    for name, value in numbers.items():
        request.node.user_properties.append((name, round(value, 3)))
    text = "\n".join(f"{name}: {value:.3f}" for name, value in numbers.items())
    request.node.add_report_section("call", "measurements", text)


@pytest.fixture(scope="module")
def s3() -> Iterator[S3Server]:
    """A local S3 server for this module's durable brokers."""
    with S3Server() as server:
        yield server


@pytest.fixture
def durable_tansu(s3: S3Server) -> Iterator[TansuBroker]:
    """A Tansu broker on its own S3 bucket."""
    with TansuBroker.durable(s3) as tansu:
        yield tansu


def group_consumer(bootstrap: str, topic: str, group: str) -> AIOKafkaConsumer:
    """A manually committing group consumer that starts at the earliest record."""
    return AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        **FAST_GROUP_TIMEOUTS,
    )


async def take(consumer: AIOKafkaConsumer, count: int) -> list[Row]:
    """Read exactly ``count`` records one at a time (positions advance only that far)."""
    return [row(await asyncio.wait_for(consumer.getone(), WAIT)) for _ in range(count)]


async def read_all(bootstrap: str, topic: str, partitions: int, count: int) -> list[Row]:
    """The ``count`` records of ``topic``, read without a group and sorted; fails on more.

    Reads rather than asks for end offsets: Tansu's ``ListOffsets`` is unreliable.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, p) for p in range(partitions)])
        await consumer.seek_to_beginning()
        rows = await take(consumer, count)
        assert await consumer.getmany(timeout_ms=500) == {}, f"more than {count} records"
        return sorted(rows)
    finally:
        await consumer.stop()


async def produce(bootstrap: str, topic: str, count: int) -> list[Row]:
    """Send ``count`` keyed records with headers; return them as the broker placed them."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        rows: list[Row] = []
        for seq in range(count):
            key, value = f"order-{seq % 7}".encode(), f"payload-{seq}".encode()
            headers = (("ce-id", f"id-{seq}".encode()), ("x-note", "café".encode()))
            meta = await producer.send_and_wait(topic, value, key=key, headers=list(headers))
            rows.append((meta.partition, meta.offset, key, value, headers))
        return sorted(rows)
    finally:
        await producer.stop()


RESTARTS = pytest.mark.parametrize("kill", [False, True], ids=["sigterm", "sigkill"])


@RESTARTS
async def test_restart_keeps_topics_records_and_committed_offsets(
    durable_tansu: TansuBroker, kill: bool, request: pytest.FixtureRequest
) -> None:
    bootstrap, partitions, count, first_read = durable_tansu.bootstrap, 2, 40, 15
    topic, group = unique("durable"), unique("group")
    await ensure_topics(bootstrap, [topic], partitions=partitions)
    produced = await produce(bootstrap, topic, count)

    consumer = group_consumer(bootstrap, topic, group)
    await consumer.start()
    try:
        consumed_before = await take(consumer, first_read)
        await consumer.commit()
        tps = [TopicPartition(topic, p) for p in range(partitions)]
        committed = {tp: await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()
    assert sum(offset or 0 for offset in committed.values()) == first_read

    started = time.perf_counter()
    await asyncio.to_thread(durable_tansu.restart, kill=kill)
    restart_s = time.perf_counter() - started
    assert durable_tansu.bootstrap == bootstrap

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        assert await producer.partitions_for(topic) == set(range(partitions))
    finally:
        await producer.stop()

    started = time.perf_counter()
    consumer = group_consumer(bootstrap, topic, group)
    await consumer.start()
    try:
        assert {tp: await consumer.committed(tp) for tp in tps} == committed
        consumed_after = await take(consumer, count - first_read)
        rejoin_s = time.perf_counter() - started
        assert await consumer.getmany(timeout_ms=1000) == {}
    finally:
        await consumer.stop()

    for tp in tps:
        resumed = [offset for partition, offset, *_ in consumed_after if partition == tp.partition]
        assert not resumed or min(resumed) == committed[tp]
    assert sorted(consumed_before + consumed_after) == produced
    assert await read_all(bootstrap, topic, partitions, count) == produced
    report(request, restart_s=restart_s, group_resume_s=rejoin_s)


@RESTARTS
async def test_faststream_clients_reconnect_across_restart(
    durable_tansu: TansuBroker, kill: bool, request: pytest.FixtureRequest
) -> None:
    bootstrap, topic, group = durable_tansu.bootstrap, unique("reconnect"), unique("group")
    await ensure_topics(bootstrap, [topic])
    received: asyncio.Queue[tuple[Any, int]] = asyncio.Queue()
    broker = KafkaBroker(bootstrap)
    subscriber = broker.subscriber(
        topic,
        group_id=group,
        ack_policy=AckPolicy.ACK,
        auto_offset_reset="earliest",
        **FAST_GROUP_TIMEOUTS,
    )

    @subscriber
    async def handle(body: str, msg: KafkaMessage) -> None:
        record = msg.raw_message
        assert isinstance(record, ConsumerRecord)
        await received.put((body, record.offset))

    async with broker:
        await broker.start()
        await broker.publish("before", topic, key=b"k", headers={"x-phase": "before"})
        assert await asyncio.wait_for(received.get(), WAIT) == ("before", 0)
        deadline = time.monotonic() + WAIT
        consumer = subscriber.consumer
        assert consumer is not None
        while await consumer.committed(TopicPartition(topic, 0)) != 1:
            assert time.monotonic() < deadline, "offset of 'before' never committed"
            await asyncio.sleep(0.05)

        started = time.perf_counter()
        await asyncio.to_thread(durable_tansu.restart, kill=kill)
        restarted = time.perf_counter()
        await asyncio.wait_for(
            broker.publish("after", topic, key=b"k", headers={"x-phase": "after"}),
            RECONNECT_BOUND,
        )
        published = time.perf_counter()
        after = await asyncio.wait_for(received.get(), RECONNECT_BOUND)
        consumed = time.perf_counter()
        await asyncio.sleep(1)

    assert after == ("after", 1)
    assert received.empty(), "a record was redelivered after the restart"
    report(
        request,
        restart_s=restarted - started,
        publish_after_restart_s=published - restarted,
        consume_after_restart_s=consumed - restarted,
    )


async def produce_timed(bootstrap: str, topic: str, count: int, *, confirm_each: bool) -> float:
    """Seconds to produce ``count`` 64-byte records; one at a time or pipelined."""
    await ensure_topics(bootstrap, [topic])
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0 if confirm_each else 5)
    await producer.start()
    try:
        started = time.perf_counter()
        if confirm_each:
            for seq in range(count):
                await producer.send_and_wait(topic, b"x" * 64, key=f"k{seq % 10}".encode())
        else:
            sent = [
                await producer.send(topic, b"x" * 64, key=f"k{seq % 10}".encode())
                for seq in range(count)
            ]
            await asyncio.gather(*sent)
        return time.perf_counter() - started
    finally:
        await producer.stop()


async def test_throughput_memory_vs_s3(s3: S3Server, request: pytest.FixtureRequest) -> None:
    """2,000 pipelined and 200 one-at-a-time records on each storage; S3 keeps them all."""
    numbers: dict[str, float] = {}
    for label, tansu in (("memory", TansuBroker()), ("s3", TansuBroker.durable(s3))):
        with tansu:
            bootstrap, pipelined, single = tansu.bootstrap, unique("bulk"), unique("single")
            seconds = await produce_timed(bootstrap, pipelined, 2000, confirm_each=False)
            numbers[f"{label}_pipelined_2000_records_per_s"] = 2000 / seconds
            seconds = await produce_timed(bootstrap, single, 200, confirm_each=True)
            numbers[f"{label}_one_at_a_time_200_records_per_s"] = 200 / seconds
            started = time.perf_counter()
            await asyncio.to_thread(tansu.restart)
            numbers[f"{label}_restart_s"] = time.perf_counter() - started
            if label == "s3":
                assert len(await read_all(bootstrap, pipelined, 1, 2000)) == 2000
                assert len(await read_all(bootstrap, single, 1, 200)) == 200
    report(request, **numbers)
