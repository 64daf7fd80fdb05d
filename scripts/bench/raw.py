"""Scenario ``raw``: the transport alone, no database, no FastStream.

A consumer process acks every message (RabbitMQ: prefetch 32, one ``basic.ack`` each;
Kafka: a consumer group committing after every fetched batch) while this process
publishes with confirms, up to 256 unconfirmed (RabbitMQ: persistent messages to a
durable queue; Kafka: ``acks=all``). The bodies and headers are real RegisterUser
commands.

* ``e2e msg/s`` - from the first publish to the last ack: the transport's ceiling for
  one hop on this machine;
* ``drain msg/s`` - the consumer alone, emptying a preloaded backlog.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Callable
from multiprocessing.context import SpawnProcess
from typing import Any
from uuid import uuid4

import aio_pika
from aiokafka import AIOKafkaConsumer
from scripts.bench.infra import delete_rabbit_namespace, new_namespace
from scripts.bench.messages import (
    KafkaCommandPublisher,
    RabbitCommandPublisher,
    publish_all,
    register_user,
)
from scripts.bench.stats import rate
from tests.support.tansu import FAST_GROUP_TIMEOUTS, ensure_topics

from commerce.platform.messaging.envelope import HeaderStyle

__all__ = ["run_raw"]

PREFETCH = 32
_SPAWN = multiprocessing.get_context("spawn")
type Progress = Callable[[int], None]


async def _rabbit_consume(url: str, queue_name: str, count: int, ready: Any) -> dict[str, float]:
    connection = await aio_pika.connect(url)
    channel = await connection.channel()
    await channel.set_qos(prefetch_count=PREFETCH)
    queue = await channel.declare_queue(queue_name, durable=True)
    seen: list[float] = []
    finished = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await message.ack()
        seen.append(time.time())
        if len(seen) >= count:
            finished.set()

    await queue.consume(on_message)
    ready.set()
    await finished.wait()
    await connection.close()
    return {"first": seen[0], "last": seen[-1], "count": len(seen)}


async def _kafka_consume(bootstrap: str, topic: str, count: int, ready: Any) -> dict[str, float]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"{topic}.raw",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **FAST_GROUP_TIMEOUTS,
    )
    await consumer.start()
    seen: list[float] = []
    try:
        while not consumer.assignment():
            await consumer.getmany(timeout_ms=100)  # joins the group; nothing produced yet
        ready.set()
        while len(seen) < count:
            batches = await consumer.getmany(timeout_ms=100, max_records=500)
            for records in batches.values():
                seen.extend(time.time() for _ in records)
            if batches:
                await consumer.commit()
    finally:
        await consumer.stop()
    return {"first": seen[0], "last": seen[-1], "count": len(seen)}


def _consumer_main(job: tuple[str, str, str, int], ready: Any, out: Any) -> None:
    """The consumer process: consume ``count`` messages, report times and CPU."""
    kind, address, name, count = job
    consume = _rabbit_consume if kind == "rabbit" else _kafka_consume
    started = time.process_time()
    result = asyncio.run(consume(address, name, count, ready))
    out.put(result | {"cpu": time.process_time() - started})


def _start_consumer(kind: str, address: str, name: str, count: int) -> tuple[SpawnProcess, Any]:
    ready, out = _SPAWN.Event(), _SPAWN.Queue()
    process = _SPAWN.Process(
        target=_consumer_main, args=((kind, address, name, count), ready, out), daemon=True
    )
    process.start()
    return process, (ready, out)


async def _wait(event: Any, process: SpawnProcess, within: float) -> None:
    deadline = time.monotonic() + within
    while not event.is_set():
        if not process.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the raw consumer process did not start")
        await asyncio.sleep(0.05)


async def _result(process: SpawnProcess, out: Any, within: float) -> dict[str, float]:
    result: dict[str, float] = await asyncio.to_thread(out.get, True, within)
    await asyncio.to_thread(process.join, 10)
    return result


async def _one_mode(
    transport: str, address: str, count: int, *, drain: bool, progress: Progress
) -> tuple[float, float]:
    """One e2e or drain measurement; returns (msg/s, consumer CPU µs per message)."""
    namespace = new_namespace()
    style = HeaderStyle.RABBIT if transport == "rabbit" else HeaderStyle.KAFKA
    tenant = uuid4()
    commands = [register_user(tenant, index, style) for index in range(count)]
    publisher: RabbitCommandPublisher | KafkaCommandPublisher
    if transport == "rabbit":
        publisher = await RabbitCommandPublisher(address, namespace).start()
        name = f"{namespace}.commerce.identity.register-user"
    else:
        name = f"{namespace}.commerce.identity.register-user"
        await ensure_topics(address, [name], partitions=4)
        publisher = await KafkaCommandPublisher(address, namespace).start()
    try:
        if drain:
            await publish_all(publisher.send, commands)
        process, (ready, out) = _start_consumer(transport, address, name, count)
        await _wait(ready, process, 60)
        started = time.time()
        if not drain:
            await publish_all(publisher.send, commands, progress=progress)
        result = await _result(process, out, within=max(60.0, count / 200))
    finally:
        await publisher.close()
        if transport == "rabbit":
            await delete_rabbit_namespace(address, namespace)
    first = result["first"] if drain else started
    return rate(int(result["count"]), first, result["last"]), result["cpu"] / count * 1e6


async def run_raw(
    transport: str, address: str, count: int, progress: Progress
) -> list[tuple[str, str, float]]:
    """Both raw measurements on ``transport`` (``address``: AMQP URL or Kafka bootstrap)."""
    e2e, _ = await _one_mode(transport, address, count, drain=False, progress=progress)
    drain, cpu = await _one_mode(transport, address, count, drain=True, progress=lambda _: None)
    return [
        ("e2e", "msg/s", e2e),
        ("drain", "msg/s", drain),
        ("consumer CPU", "µs/msg", cpu),
    ]
