"""No span objects for what nothing samples; the trace context flows on regardless."""

import dataclasses
from uuid import uuid4

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.trace import format_span_id

from commerce.platform.messaging.envelope import Envelope
from commerce.platform.observability.tracing import (
    command_span,
    current_trace_headers,
    database_span,
    trace_context_of,
)

pytestmark = pytest.mark.unit

SAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
UNSAMPLED = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


class RegisterThing:
    """A stand-in command (only its class name is used)."""


def _recorded(sampler: ParentBased | None = None) -> tuple[trace.Tracer, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler or ParentBased(ALWAYS_ON))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider.get_tracer("t"), exporter


def _envelope(traceparent: str | None) -> Envelope:
    envelope = Envelope.new(type="test.thing", source="/tests", tenant_id=uuid4())
    return dataclasses.replace(envelope, traceparent=traceparent)


@pytest.mark.parametrize(
    ("sampler", "traceparent"),
    [(ParentBased(ALWAYS_ON), UNSAMPLED), (ALWAYS_OFF, SAMPLED), (ALWAYS_OFF, None)],
)
def test_an_unsampled_command_makes_no_span_and_its_rows_carry_the_incoming_context(
    sampler: ParentBased, traceparent: str | None
) -> None:
    tracer, exporter = _recorded(sampler)
    envelope = _envelope(traceparent)
    with command_span(tracer, RegisterThing(), envelope, consumer="c") as span:
        with database_span(tracer, "outbox write") as db:
            headers = current_trace_headers()
        stored = trace_context_of(span, default=(envelope.traceparent, envelope.tracestate))
    assert not span.is_recording()
    assert not db.is_recording()
    assert exporter.get_finished_spans() == ()
    assert headers == {}  # no span was made current: the row keeps the envelope's context
    assert stored == (traceparent, None)  # the outbox row continues the command's trace


def test_a_sampled_command_records_its_spans_and_its_rows_carry_the_db_span() -> None:
    tracer, exporter = _recorded()
    with (
        command_span(tracer, RegisterThing(), _envelope(SAMPLED), consumer="c") as span,
        database_span(tracer, "outbox write") as db,
    ):
        headers = current_trace_headers()
    spans = {finished.name: finished for finished in exporter.get_finished_spans()}
    assert set(spans) == {"handle RegisterThing", "outbox write"}
    assert span.is_recording() is False  # ended
    handle, write = spans["handle RegisterThing"], spans["outbox write"]
    assert handle.context.trace_id == int(SAMPLED.split("-")[1], 16)
    assert handle.parent is not None
    assert format_span_id(handle.parent.span_id) == SAMPLED.split("-")[2]
    assert write.parent is not None
    assert write.parent.span_id == handle.context.span_id
    assert headers["traceparent"].split("-")[2] == format_span_id(db.get_span_context().span_id)


def test_under_a_recording_consumer_span_the_command_span_is_its_child() -> None:
    tracer, exporter = _recorded()
    with (
        tracer.start_as_current_span("consume") as consumer,
        command_span(tracer, RegisterThing(), _envelope(None), consumer="c"),
    ):
        pass
    handle = next(s for s in exporter.get_finished_spans() if s.name.startswith("handle"))
    assert handle.parent is not None
    assert handle.parent.span_id == consumer.get_span_context().span_id
