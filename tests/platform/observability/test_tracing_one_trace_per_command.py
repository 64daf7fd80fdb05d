"""One command, one trace: its consumer span, ``handle``, ``db commit``, ``outbox write``,
the relay's ``publish <stream>``, the user directory projection's consumer span and its
``handle``, each the child of the one before, on RabbitMQ and Kafka (spans in memory)."""

import asyncio
import contextlib
import dataclasses
from collections.abc import AsyncIterator
from typing import Annotated, Any
from uuid import uuid4

import pytest
from faststream import Context, StreamMessage
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.rabbit import ExchangeType, RabbitBroker, RabbitExchange, RabbitQueue
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_ON, ParentBased
from opentelemetry.trace import SpanKind, format_span_id, format_trace_id

from commerce.bootstrap.service import Service, build_service
from commerce.entrypoints.worker import include_routers
from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY, USERS
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.transport import OutgoingMessage, namespaced
from tests.support.database import ProvisionedDatabase
from tests.support.tansu import FAST_GROUP_TIMEOUTS
from tests.support.worker import running_relay, settings_for

pytestmark = pytest.mark.integration


@contextlib.asynccontextmanager
async def traced_worker(
    database: ProvisionedDatabase, broker_url: str, provider: TracerProvider
) -> AsyncIterator[Service]:
    service = build_service(settings_for(database, broker_url), tracer_provider=provider)
    include_routers(service)
    await service.transport.broker.start()
    try:
        yield service
    finally:
        await service.transport.broker.stop()
        await service.close()


@contextlib.asynccontextmanager
async def downstream_consumer(
    broker_url: str,
    namespace: str,
    provider: TracerProvider,
    arrived: asyncio.Queue[tuple[str, str]],
) -> AsyncIterator[None]:
    """Another team's FastStream service on the users stream, with FastStream's tracing.

    Puts ``(user id, traceparent)`` of every event it consumes into ``arrived``.
    """
    stream = namespaced(namespace, USERS.name)
    broker: RabbitBroker | KafkaBroker
    subscriber: Any
    if broker_url.startswith("kafka://"):
        broker = KafkaBroker(
            broker_url.removeprefix("kafka://"),
            middlewares=[KafkaTelemetryMiddleware(tracer_provider=provider)],
            logger=None,
        )
        subscriber = broker.subscriber(
            stream,
            group_id=f"{namespace}.downstream",
            auto_offset_reset="earliest",
            **FAST_GROUP_TIMEOUTS,
        )
    else:
        broker = RabbitBroker(
            broker_url,
            middlewares=[RabbitTelemetryMiddleware(tracer_provider=provider)],
            logger=None,
        )
        exchange = RabbitExchange(stream, type=ExchangeType.TOPIC, durable=True)
        queue = RabbitQueue(f"{namespace}.downstream", routing_key="#", auto_delete=True)
        subscriber = broker.subscriber(queue, exchange)

    @subscriber
    async def on_user_event(
        body: dict[str, Any], message: Annotated[StreamMessage[Any], Context("message")]
    ) -> None:
        await arrived.put((str(body.get("user_id")), message.headers.get("traceparent", "")))

    await broker.start()
    try:
        yield
    finally:
        await broker.stop()


def _by_parent(spans: list[ReadableSpan], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


async def _event_of(arrived: asyncio.Queue[tuple[str, str]], user_id: str) -> str:
    """The traceparent of the event about ``user_id`` (skipping other events)."""
    while True:
        subject, traceparent = await arrived.get()
        if subject == user_id:
            return traceparent


async def _spans_until(
    exporter: InMemorySpanExporter, done: Any, timeout: float = 10.0
) -> list[ReadableSpan]:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        spans = list(exporter.get_finished_spans())
        if done(spans) or asyncio.get_running_loop().time() > deadline:
            return spans
        await asyncio.sleep(0.05)


async def test_a_command_and_the_event_it_causes_share_one_trace(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arrived: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    user_id = uuid4()
    command = RegisterUser(
        user_id=user_id,
        email=f"trace-{user_id.hex[:10]}@example.com",
        display_name="Traced",
        password="correct horse battery staple",  # type: ignore[arg-type]
    )

    def complete(spans: list[ReadableSpan]) -> bool:
        # Other tests' leftover outbox rows (one shared database) are relayed too: follow
        # the chain down from this command's handler span.
        level = [s for s in spans if s.name == "handle RegisterUser"]
        for _ in range(5):  # db commit, outbox write, publish, consume event, projection
            level = [child for parent in level for child in _by_parent(spans, parent)]
        return bool(level)

    async with traced_worker(provisioned_database, broker_url, provider) as service:
        namespace = service.settings.broker.namespace
        async with (
            downstream_consumer(broker_url, namespace, provider, arrived),
            running_relay(service),
        ):
            await service.send_command(REGISTER_USER, command, tenant_id=uuid4())
            header = await asyncio.wait_for(_event_of(arrived, str(user_id)), 30)
            # The worker's projection reads the event on its own: keep the worker up
            # until it has (a loaded Kafka broker delivers to one group after the other).
            spans = await _spans_until(exporter, complete, timeout=60)
    names = sorted(span.name for span in spans)
    [handle] = [s for s in spans if s.name == "handle RegisterUser"]
    [consume_command] = [s for s in spans if s.context.span_id == handle.parent.span_id]  # type: ignore[union-attr]
    [commit] = _by_parent(spans, handle)
    [outbox_write] = _by_parent(spans, commit)
    [publish] = _by_parent(spans, outbox_write)
    consumers = _by_parent(spans, publish)  # the test's downstream consumer and the projection
    [(consume_event, project)] = [
        (span, child) for span in consumers for child in _by_parent(spans, span)
    ]
    assert project.name == "handle UserRegisteredV1", "the projection handled the event"
    assert project.attributes is not None
    assert project.attributes["messaging.consumer.group.name"] == USER_DIRECTORY.consumer

    chain = [consume_command, handle, commit, outbox_write, publish, consume_event]
    assert [span.name for span in chain[1:5]] == [
        "handle RegisterUser",
        "db commit",
        "outbox write",
        f"publish {USERS.name}",
    ], names
    assert consume_command.kind is SpanKind.CONSUMER
    assert consume_command.name.endswith(" process")
    assert consume_event.kind is SpanKind.CONSUMER
    assert consume_event.name.endswith(" process")
    assert publish.kind is SpanKind.PRODUCER
    assert {span.context.trace_id for span in chain} == {handle.context.trace_id}
    # The event carried the relay span's context, not the command's or the handler's.
    version, trace_id, span_id, _flags = header.split("-")
    assert (version, trace_id, span_id) == (
        "00",
        format_trace_id(publish.context.trace_id),
        format_span_id(publish.context.span_id),
    )
    assert publish.attributes is not None
    assert publish.attributes["messaging.destination.name"] == USERS.name
    assert handle.attributes is not None
    assert handle.attributes["commerce.outcome"] == "applied"


async def test_an_unsampled_command_makes_no_spans_and_its_event_keeps_its_trace(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    """Nothing samples (the command arrives with an unsampled ``traceparent``): no span
    is recorded, and the event still carries the command's trace id across the outbox."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=ParentBased(ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    arrived: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    user_id = uuid4()
    command = RegisterUser(
        user_id=user_id,
        email=f"untraced-{user_id.hex[:10]}@example.com",
        display_name="Untraced",
        password="correct horse battery staple",  # type: ignore[arg-type]
    )
    trace_id = uuid4().hex
    incoming = f"00-{trace_id}-{uuid4().hex[:16]}-00"
    async with traced_worker(provisioned_database, broker_url, provider) as service:
        namespace = service.settings.broker.namespace
        envelope = dataclasses.replace(
            Envelope.new(
                type=command.message_type,
                source="/tests",
                tenant_id=uuid4(),
                subject=str(user_id),
            ),
            traceparent=incoming,
        )
        async with (
            downstream_consumer(broker_url, namespace, provider, arrived),
            running_relay(service),
        ):
            await service.transport.send_command(
                REGISTER_USER,
                OutgoingMessage(
                    body=command.wire_body(),
                    key=str(user_id),
                    headers=envelope.headers(service.transport.style),
                    content_type=envelope.content_type,
                    message_id=str(envelope.id),
                ),
            )
            header = await asyncio.wait_for(_event_of(arrived, str(user_id)), 30)
    assert header.split("-")[1] == trace_id, "the event continues the command's trace"
    assert header.endswith("-00"), "and stays unsampled"
    assert [span.name for span in exporter.get_finished_spans()] == []
