"""Asking queries over the broker: a request/reply client per transport.

* **RabbitMQ: Direct Reply-to**, multiplexed. The client consumes the pseudo-queue
  ``amq.rabbitmq.reply-to`` once on its channel and matches every reply to its request by
  correlation id, so any number of requests run concurrently and a late reply to a
  request that timed out is dropped. Requests are published mandatory with a confirm (no
  queue for the query: fails at once) and expire after the timeout (nobody waits longer).
  FastStream's own ``RabbitBroker.request`` runs one request at a time per broker and
  takes the first message on the pseudo-queue as the answer, so it is not used here.
* **Kafka: a reply topic.** FastStream 0.7's ``KafkaBroker.request`` works only with its
  test client, so the client produces the request with ``reply_to`` and ``correlation_id``
  headers (what FastStream's subscriber answers to) and reads ``commerce.queries.replies``
  from its end (every partition, no consumer group), keeping the replies it waits for.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

import aio_pika
from aio_pika.abc import AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from commerce.platform.messaging.envelope import (
    CONTENT_TYPE,
    Envelope,
    HeaderStyle,
    message_type_of,
)
from commerce.platform.messaging.queries import (
    KAFKA_REPLY_TOPIC,
    Query,
    QueryFailedV1,
    QueryReply,
    QueryRoute,
)
from commerce.platform.messaging.transport import namespaced, text_headers

__all__ = [
    "KafkaRequester",
    "QueryClient",
    "QueryFailedError",
    "QueryUnansweredError",
    "RabbitRequester",
    "RawReply",
    "Requester",
]

_DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


class QueryFailedError(Exception):
    """The service answered ``QueryFailed``."""

    def __init__(self, failure: QueryFailedV1) -> None:
        self.failure = failure
        super().__init__(f"{failure.query_type} failed: {failure.reason_code}: {failure.reason}")


class QueryUnansweredError(TimeoutError):
    """No worker answered in time (none running, or none reachable)."""


@dataclass(frozen=True, slots=True)
class RawReply:
    """A reply as received: body bytes and text headers."""

    body: bytes
    headers: dict[str, str]


class Requester(Protocol):
    """Sends one request and waits for its reply; started and stopped around use."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    async def request(
        self, channel: str, body: bytes, headers: dict[str, str], *, key: str, within: float
    ) -> RawReply:
        """Send ``body`` to ``channel``; the reply correlated by ``key`` within ``within`` s."""
        ...


class _Waiting:
    """Replies awaited, by correlation id."""

    def __init__(self) -> None:
        self._futures: dict[str, asyncio.Future[RawReply]] = {}

    def expect(self, key: str) -> asyncio.Future[RawReply]:
        future: asyncio.Future[RawReply] = asyncio.get_running_loop().create_future()
        self._futures[key] = future
        return future

    def forget(self, key: str) -> None:
        self._futures.pop(key, None)

    def deliver(self, key: str | None, reply: RawReply) -> None:
        future = self._futures.pop(key or "", None)
        if future is not None and not future.done():
            future.set_result(reply)

    async def wait(self, key: str, future: asyncio.Future[RawReply], within: float) -> RawReply:
        try:
            return await asyncio.wait_for(future, within)
        except TimeoutError:
            raise QueryUnansweredError(f"no answer within {within:g} s") from None
        finally:
            self.forget(key)


class RabbitRequester:
    """:class:`Requester` over RabbitMQ Direct Reply-to (see the module documentation)."""

    def __init__(self, url: str, *, namespace: str = "") -> None:
        self._url = url
        self._namespace = namespace
        self._waiting = _Waiting()
        self._connection: aio_pika.abc.AbstractRobustConnection | None = None
        self._channel: aio_pika.abc.AbstractChannel | None = None

    async def start(self) -> None:
        self._connection = await aio_pika.connect_robust(self._url)
        self._channel = await self._connection.channel(publisher_confirms=True)
        replies = await self._channel.get_queue(_DIRECT_REPLY_TO, ensure=False)
        await replies.consume(self._on_reply, no_ack=True)

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        headers = text_headers(message.headers or {})
        self._waiting.deliver(message.correlation_id, RawReply(message.body, headers))

    async def stop(self) -> None:
        if self._connection is not None:
            await self._connection.close()
            self._connection = self._channel = None

    async def request(
        self, channel: str, body: bytes, headers: dict[str, str], *, key: str, within: float
    ) -> RawReply:
        assert self._channel is not None, "start() the requester first"
        future = self._waiting.expect(key)
        message = aio_pika.Message(
            body,
            headers=dict(headers),
            content_type=CONTENT_TYPE,
            correlation_id=key,
            message_id=key,
            reply_to=_DIRECT_REPLY_TO,
            expiration=within,
        )
        try:
            await self._channel.default_exchange.publish(
                message, routing_key=namespaced(self._namespace, channel), mandatory=True
            )
        except DeliveryError:
            self._waiting.forget(key)
            raise QueryUnansweredError(f"no queue answers {channel}") from None
        return await self._waiting.wait(key, future, within)


class KafkaRequester:
    """:class:`Requester` over Kafka with a shared reply topic (see the module documentation)."""

    def __init__(
        self, bootstrap: str, *, namespace: str = "", partitions: int = 4, client_id: str = ""
    ) -> None:
        self._bootstrap = bootstrap
        self._namespace = namespace
        self._partitions = partitions
        self._client_id = client_id or "commerce-queries"
        self._reply_topic = namespaced(namespace, KAFKA_REPLY_TOPIC)
        self._waiting = _Waiting()
        self._producer: Any = None
        self._consumer: Any = None
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:  # an existing topic is answered with an error code, not an exception
            await admin.create_topics(
                [NewTopic(self._reply_topic, num_partitions=self._partitions, replication_factor=1)]
            )
        finally:
            await admin.close()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            client_id=self._client_id,
        )
        await self._consumer.start()
        partitions = await self._reply_partitions()
        self._consumer.assign(partitions)
        await self._consumer.seek_to_end(*partitions)
        for partition in partitions:  # resolve the offsets before the first request
            await self._consumer.position(partition)
        self._producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap, client_id=self._client_id
        )
        await self._producer.start()
        self._reader = asyncio.create_task(self._read(), name="query-replies")

    async def _reply_partitions(self, within: float = 10.0) -> list[TopicPartition]:
        deadline = time.monotonic() + within
        while True:
            await self._consumer.topics()  # refreshes the metadata
            found = self._consumer.partitions_for_topic(self._reply_topic)
            if found:
                return [TopicPartition(self._reply_topic, p) for p in sorted(found)]
            if time.monotonic() > deadline:
                raise QueryUnansweredError(f"reply topic {self._reply_topic} has no partitions")
            await asyncio.sleep(0.1)

    async def _read(self) -> None:
        async for record in self._consumer:
            headers = text_headers(dict(record.headers or ()))
            reply = RawReply(record.value or b"", headers)
            self._waiting.deliver(headers.get("correlation_id"), reply)

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        for client in (self._producer, self._consumer):
            if client is not None:
                await client.stop()
        self._reader = self._producer = self._consumer = None

    async def request(
        self, channel: str, body: bytes, headers: dict[str, str], *, key: str, within: float
    ) -> RawReply:
        assert self._producer is not None, "start() the requester first"
        future = self._waiting.expect(key)
        sent = {**headers, "content-type": CONTENT_TYPE}
        sent |= {"correlation_id": key, "reply_to": self._reply_topic}
        await self._producer.send_and_wait(
            namespaced(self._namespace, channel),
            body,
            headers=[(name, value.encode()) for name, value in sent.items()],
        )
        return await self._waiting.wait(key, future, within)


class QueryClient:
    """Asks typed queries in a tenant and returns typed replies."""

    def __init__(
        self,
        requester: Requester,
        style: HeaderStyle,
        *,
        source: str,
        routes: Sequence[QueryRoute],
    ) -> None:
        self.requester = requester
        self._channels = {route.query: route.channel.name for route in routes}
        self._style = style
        self._source = source

    async def __aenter__(self) -> Self:
        await self.requester.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.requester.stop()

    async def ask(self, query: Query, *, tenant_id: UUID, within: float = 5.0) -> QueryReply:
        """The reply to ``query``; :class:`QueryFailedError` or :class:`QueryUnansweredError`."""
        envelope = Envelope.new(type=query.message_type, source=self._source, tenant_id=tenant_id)
        raw = await self.requester.request(
            self._channels[type(query)],
            query.wire_body(),
            envelope.headers(self._style),
            key=str(envelope.id),
            within=within,
        )
        return self.parse(query, raw)

    @staticmethod
    def parse(query: Query, raw: RawReply) -> QueryReply:
        """The typed reply of ``raw``, or :class:`QueryFailedError`."""
        reply_type = message_type_of(raw.headers)
        if reply_type == QueryFailedV1.message_type:
            raise QueryFailedError(QueryFailedV1.model_validate_json(raw.body))
        if reply_type != query.reply.message_type:
            msg = f"expected a {query.reply.message_type} reply, got {reply_type!r}"
            raise ValueError(msg)
        return query.reply.model_validate_json(raw.body)
