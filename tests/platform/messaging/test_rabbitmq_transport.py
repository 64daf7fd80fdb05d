"""FastStream's real ``RabbitBroker`` against the session RabbitMQ.

Proves a ``NACK_ON_ERROR`` subscriber: a failing handler's message comes back
(redelivered, headers intact) and the second, successful attempt is acknowledged.
"""

import asyncio
from collections.abc import AsyncIterator
from typing import Any
from uuid import uuid4

import aio_pika
import pytest
from faststream import AckPolicy
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.annotations import RabbitMessage

__all__: list[str] = []

pytestmark = pytest.mark.integration

HEADERS = {
    "ce-id": "0b6f0b8e-5d7e-4a43-8b4e-0a7c1f2d3e4f",
    "ce-type": "commerce.order.placed.v1",
    "x-note": "naïve café, spaced value",
}
WAIT = 10.0


@pytest.fixture
async def queue_name(rabbit_url: str) -> AsyncIterator[str]:
    """A fresh queue name; the queue is deleted after the test."""
    name = f"test-rabbit-{uuid4().hex[:12]}"
    yield name
    connection = await aio_pika.connect(rabbit_url)
    async with connection:
        channel = await connection.channel()
        await channel.queue_delete(name)


async def message_count(url: str, name: str) -> int:
    """Messages ready in queue ``name`` (unacknowledged ones return when consumers stop)."""
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.declare_queue(name, passive=True)
        return int(queue.declaration_result.message_count or 0)


async def test_nack_on_error_round_trip_with_headers(rabbit_url: str, queue_name: str) -> None:
    attempts: list[tuple[Any, dict[str, Any], bool]] = []
    done = asyncio.Event()
    broker = RabbitBroker(rabbit_url)
    queue = RabbitQueue(queue_name, durable=False)

    @broker.subscriber(queue, ack_policy=AckPolicy.NACK_ON_ERROR)
    async def handle(body: dict[str, str], msg: RabbitMessage) -> None:
        attempts.append((body, dict(msg.headers), msg.raw_message.redelivered))
        if len(attempts) == 1:
            raise RuntimeError("transient failure")
        done.set()

    async with broker:
        await broker.start()
        await broker.publish({"order_id": "o-1"}, queue, headers=HEADERS)
        await asyncio.wait_for(done.wait(), WAIT)

    assert await message_count(rabbit_url, queue_name) == 0
    assert [redelivered for *_, redelivered in attempts] == [False, True]
    for body, headers, _ in attempts:
        assert body == {"order_id": "o-1"}
        assert {name: headers.get(name) for name in HEADERS} == HEADERS
