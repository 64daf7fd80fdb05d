"""The reliability drill's Kafka part: a Tansu broker whose data outlives its process.

The broker stores everything in a local S3 server (:class:`tests.support.s3.S3Server`), so
:meth:`KafkaDrill.restart` really stops the broker process (SIGTERM) and starts a new one
that finds every topic, record and committed offset again.

The consumer groups checked are the worker's own (:func:`worker_groups`, read from its
FastStream subscribers). "Unacknowledged" on Kafka means a group's committed offset is
behind the end of a partition it consumes. Tansu's ``ListOffsets`` answer for the end is
wrong (see :mod:`tests.support.tansu`), so the end is read instead (:func:`group_lag`):
the offset after the partition's last record, checked against the high watermark of the
broker's fetch responses.
"""

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from faststream.kafka.subscriber.usecase import ConcurrentBetweenPartitionsSubscriber

from commerce.bootstrap.service import build_service
from commerce.config import Settings
from commerce.entrypoints.worker import include_routers
from commerce.identity.messages.channels import USERS
from commerce.platform.messaging.transport import namespaced
from tests.support.drill import COLLECT_SECONDS, Published
from tests.support.drill_plan import Message
from tests.support.tansu import TansuBroker, ensure_topics

__all__ = ["Group", "KafkaDrill", "group_lag", "stable_members", "worker_groups"]

PUBLISH_SECONDS = 120.0
"""How long one command may take to be confirmed, broker restarts included."""


async def group_lag(
    bootstrap: str, group: str, topics: Iterable[str], *, timeout: float = 60.0
) -> dict[TopicPartition, int]:
    """How many records of ``topics`` lie past ``group``'s committed offset, by partition.

    Reads each partition (without joining the group or committing) from the record before
    the committed offset to the end. The end is the offset after the last record read; it
    must equal the high watermark in the broker's fetch responses, else this raises.
    """
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=100,  # empty partitions answer after this
    )
    await consumer.start()
    try:
        await consumer.topics()  # refreshes metadata for every topic
        partitions = [
            TopicPartition(topic, partition)
            for topic in topics
            for partition in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        committed = {tp: await consumer.committed(tp) or 0 for tp in partitions}
        for tp, offset in committed.items():
            consumer.seek(tp, max(offset - 1, 0))
        last = dict.fromkeys(partitions, -1)
        deadline = time.monotonic() + timeout
        while not await _caught_up(consumer, partitions):
            if time.monotonic() > deadline:
                raise AssertionError(f"could not read {group}'s {list(topics)} in {timeout} s")
            for tp, batch in (await consumer.getmany(timeout_ms=200)).items():
                last[tp] = batch[-1].offset
        highwater = {tp: consumer.highwater(tp) for tp in partitions}
    finally:
        await consumer.stop()
    ends = {tp: offset + 1 for tp, offset in last.items()}
    if ends != highwater:
        raise AssertionError(f"end offsets read {ends} differ from high watermarks {highwater}")
    return {tp: end - committed[tp] for tp, end in ends.items()}


async def _caught_up(consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> bool:
    for tp in partitions:
        highwater = consumer.highwater(tp)
        if highwater is None or await consumer.position(tp) < highwater:
            return False
    return True


async def stable_members(bootstrap: str, groups: Iterable[str]) -> dict[str, int]:
    """How many members each group has, by ``DescribeGroups``; 0 unless it is ``Stable``.

    (Tansu leaves the members' client ids and assignments empty, so only counts tell.)
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:  # one group a request: Tansu garbles a response describing several
        responses = [(await admin.describe_consumer_groups([group]))[0] for group in groups]
    finally:
        await admin.close()
    return {  # a group: (error, id, state, protocol type, protocol, members, ...)
        group[1]: len(group[5]) if group[2] == "Stable" else 0
        for response in responses
        for group in response.groups
    }


@dataclass(frozen=True, slots=True)
class Group:
    """A consumer group of the worker: the topics it reads and how many members it has."""

    topics: tuple[str, ...]
    members: int


async def worker_groups(settings: Settings) -> dict[str, Group]:
    """The consumer groups ``commerce run worker`` joins with ``settings``.

    Read from the worker's own FastStream subscribers (built, never started): each is one
    group member, or ``max_workers`` members when it consumes partitions concurrently (a
    subscriber acknowledging first runs its workers on one member).
    """
    service = build_service(settings)
    try:
        include_routers(service)
        groups: dict[str, Group] = {}
        for subscriber in service.transport.broker.subscribers:
            handle: Any = subscriber
            known = groups.get(handle.group_id, Group((), 0))
            groups[handle.group_id] = Group(
                (*known.topics, *handle.topic_names_for_subscribe),
                known.members + _members(handle),
            )
        return groups
    finally:
        await service.close()


def _members(subscriber: Any) -> int:
    """How many group members a FastStream Kafka subscriber runs."""
    if isinstance(subscriber, ConcurrentBetweenPartitionsSubscriber):
        return int(subscriber.max_workers)
    return 1


class KafkaDrill:
    """Kafka: a durable Tansu broker; restart = stop the process (SIGTERM) and start it."""

    def __init__(self, tansu: TansuBroker) -> None:
        """Drive ``tansu``."""
        self.tansu = tansu
        self.url = f"kafka://{tansu.bootstrap}"
        self._producer: AIOKafkaProducer | None = None
        self._groups: dict[str, Group] = {}

    async def prepare(self, settings: Settings) -> None:
        """Create every topic the worker consumes, with the service's partition count."""
        self._groups = await worker_groups(settings)
        topics = {topic for group in self._groups.values() for topic in group.topics}
        await ensure_topics(self.tansu.bootstrap, sorted(topics), settings.broker.partitions)

    async def _started_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            producer = AIOKafkaProducer(
                bootstrap_servers=self.tansu.bootstrap,
                acks="all",
                enable_idempotence=False,  # Tansu's storage has no idempotent producers
                request_timeout_ms=10_000,
            )
            await producer.start()
            self._producer = producer
        return self._producer

    async def publish(self, settings: Settings, message: Message) -> None:
        """Produce and wait for the broker's ack; a retry may duplicate (the inbox dedups)."""
        topic = namespaced(settings.broker.namespace, message.channel.name)
        kafka_headers = [(name, value.encode()) for name, value in message.headers.items()]
        deadline = time.monotonic() + PUBLISH_SECONDS
        while True:
            try:
                producer = await self._started_producer()
                send = producer.send_and_wait(
                    topic, message.body, key=message.key.encode(), headers=kafka_headers
                )
                await asyncio.wait_for(send, 15)
                return
            except (KafkaError, OSError, TimeoutError) as error:
                if time.monotonic() > deadline:
                    raise AssertionError(f"could not publish to Kafka: {error!r}") from error
                await self.close()
                await asyncio.sleep(0.2)

    async def restart(self) -> None:
        """Stop the Tansu process and start a new one on the same port and storage."""
        await asyncio.to_thread(self.tansu.restart)

    async def collect_events(
        self, settings: Settings, expected: set[str], tenant: str
    ) -> Published:
        """Read the event topic from the start (no group); only ``tenant``'s events count."""
        topic = namespaced(settings.broker.namespace, USERS.name)
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=self.tansu.bootstrap,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        seen: Published = {}
        missing = set(expected)
        await consumer.start()
        try:
            deadline = time.monotonic() + COLLECT_SECONDS
            while missing and time.monotonic() < deadline:
                for batch in (await consumer.getmany(timeout_ms=500)).values():
                    for record in batch:
                        headers = {name: value.decode() for name, value in record.headers}
                        if headers.get("ce_tenantid") == tenant:
                            version = int(headers.get("ce_aggregateversion", "0"))
                            event = headers.get("ce_id", ""), version
                            seen.setdefault(headers.get("ce_subject", ""), []).append(event)
                            missing.discard(event[0])
        finally:
            await consumer.stop()
        return seen

    async def unfinished(self, settings: Settings) -> dict[str, int]:
        """Records past each group's committed offset, by ``group: topic[partition]``."""
        names = list(self._groups)
        lags = await asyncio.gather(
            *(group_lag(self.tansu.bootstrap, name, self._groups[name].topics) for name in names)
        )
        return {
            f"{name}: {tp.topic}[{tp.partition}]": lag
            for name, group_lags in zip(names, lags, strict=True)
            for tp, lag in group_lags.items()
            if lag
        }

    async def consuming(self, settings: Settings) -> bool:
        """Whether every group of the worker is stable with all its members (no more, as
        a killed worker's members linger until their session times out)."""
        members = await stable_members(self.tansu.bootstrap, self._groups)
        return all(members.get(name) == group.members for name, group in self._groups.items())

    async def close(self) -> None:
        """Stop the drill's producer (a new one starts on the next publish)."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()
