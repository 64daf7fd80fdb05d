"""Tracer provider from settings, and the trace context outbox rows and relay messages carry."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN, format_span_id, format_trace_id

from commerce.platform.observability.tracing import (
    build_tracer_provider,
    current_trace_headers,
    start_publish_span,
    trace_context_of,
    with_current_trace,
)

pytestmark = pytest.mark.unit

INCOMING = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_the_provider_names_the_service_and_exports_only_with_an_endpoint() -> None:
    quiet = build_tracer_provider(service_name="commerce-test", endpoint=None)
    assert quiet.resource.attributes["service.name"] == "commerce-test"
    assert not quiet._active_span_processor._span_processors
    exporting = build_tracer_provider(service_name="commerce-test", endpoint="http://127.0.0.1:9")
    assert len(exporting._active_span_processor._span_processors) == 1
    exporting.shutdown()


def test_without_an_endpoint_spans_carry_ids_but_are_never_recorded() -> None:
    tracer = build_tracer_provider(service_name="commerce-test", endpoint=None).get_tracer("t")
    with tracer.start_as_current_span("handle") as span:
        headers = current_trace_headers()
    assert not span.is_recording()
    assert span.get_span_context().is_valid
    assert headers["traceparent"].split("-")[2] == format_span_id(span.get_span_context().span_id)


@pytest.mark.parametrize(("ratio", "recorded"), [(0.0, False), (1.0, True)])
def test_with_an_endpoint_the_sample_ratio_decides_and_children_follow(
    ratio: float, recorded: bool
) -> None:
    provider = build_tracer_provider(
        service_name="commerce-test", endpoint="http://127.0.0.1:9", sample_ratio=ratio
    )
    tracer = provider.get_tracer("t")
    root = tracer.start_span("consume")  # never ended: nothing is queued for export
    child = tracer.start_span("handle", context=trace.set_span_in_context(root))
    assert root.is_recording() is recorded
    assert child.is_recording() is recorded
    provider.shutdown()


def test_rows_written_inside_a_span_carry_that_span_and_otherwise_keep_their_headers() -> None:
    provider, _ = _provider()
    headers = {"ce-id": "1", "traceparent": INCOMING, "tracestate": "old=1"}
    assert with_current_trace(headers) == headers
    with provider.get_tracer("t").start_as_current_span("outbox write") as span:
        stamped = with_current_trace(headers)
    context = span.get_span_context()
    assert stamped["ce-id"] == "1"
    assert stamped["traceparent"].split("-")[1:3] == [
        format_trace_id(context.trace_id),
        format_span_id(context.span_id),
    ]
    assert "tracestate" not in stamped, "the stale tracestate goes with the stale parent"


def test_the_publish_span_continues_the_stored_context_and_names_itself() -> None:
    provider, exporter = _provider()
    tracer = provider.get_tracer("t")
    started, headers = start_publish_span(
        tracer,
        "commerce.identity.user",
        stored={"traceparent": INCOMING},
        message_id="m",
        system="kafka",
    )
    assert exporter.get_finished_spans() == (), "the caller ends it after the confirm"
    started.end()
    [span] = exporter.get_finished_spans()
    assert span.name == "publish commerce.identity.user"
    assert format_trace_id(span.context.trace_id) == INCOMING.split("-")[1]
    assert span.parent is not None
    assert format_span_id(span.parent.span_id) == INCOMING.split("-")[2]
    assert headers["traceparent"].split("-")[2] == format_span_id(span.context.span_id)


def test_without_a_real_span_the_incoming_context_is_kept() -> None:
    assert trace_context_of(INVALID_SPAN, default=(INCOMING, "a=1")) == (INCOMING, "a=1")
