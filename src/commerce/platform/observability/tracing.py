"""Tracing: one trace from the consumed command to the consumed event it caused.

The spans of one command, each the parent of the next:

``<queue> process`` (FastStream's consumer span)
  → ``handle <Command>`` (:func:`command_span`, around ``process_command``)
  → ``db commit`` → ``outbox write`` (:func:`database_span`, in the unit of work)
  → ``publish <stream>`` (:func:`start_publish_span`, in the relay, parented by the trace
  context stored in the outbox row) → the downstream consumer's ``process`` span.

The outbox row keeps the W3C ``traceparent``/``tracestate`` of the span current when it
is written (:func:`with_current_trace`), so the relay, in another process and maybe much
later, continues the command's trace; the message it sends carries the relay span's own
context. The provider exports over OTLP/gRPC only when an endpoint is configured.

Our own spans exist only when the sampler would record them (docs/adr/0027): an unsampled
command gets no ``handle`` span object and no ``db`` spans; its outbox rows then carry the
incoming ``traceparent`` (the consumer span's, or the command envelope's), so the trace
context still crosses the outbox hop unchanged and logs and messages still correlate.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from faststream import BaseMiddleware
from faststream.kafka import KafkaBroker
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from faststream.rabbit.opentelemetry import RabbitTelemetryMiddleware
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.metrics import NoOpMeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    Decision,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.transport import AnyBroker, Middleware

__all__ = [
    "TRACER_NAME",
    "TRACE_HEADERS",
    "build_tracer_provider",
    "command_span",
    "current_trace_headers",
    "database_span",
    "samples",
    "start_publish_span",
    "trace_consumers",
    "trace_context_of",
    "trace_headers_of",
    "with_current_trace",
]

TRACER_NAME = "commerce"
TRACE_HEADERS = ("traceparent", "tracestate")
"""The W3C trace-context headers (unprefixed on both transports)."""

_PROPAGATOR = TraceContextTextMapPropagator()
_DB_ATTRIBUTES = {"db.system.name": "postgresql", "db.system": "postgresql"}


def build_tracer_provider(
    *, service_name: str, endpoint: str | None, sample_ratio: float = 1.0
) -> TracerProvider:
    """A tracer provider for ``service_name``; exports to ``endpoint`` (OTLP/gRPC) if set.

    ``OTEL_RESOURCE_ATTRIBUTES`` adds resource attributes; a ``service.name`` there (or in
    ``OTEL_SERVICE_NAME``) wins over ``service_name``. With an endpoint, a trace is recorded
    with probability ``sample_ratio`` (decided where it starts; the services downstream
    follow the decision in ``traceparent``). Without one, spans get ids (trace context
    propagates to logs and messages) but are never recorded: a recorded span costs tens of
    microseconds, several per message (docs/performance.md).
    """
    resource = Resource.create()
    if str(resource.attributes.get("service.name", "")).startswith("unknown_service"):
        resource = resource.merge(Resource({"service.name": service_name}))
    sampler = ParentBased(TraceIdRatioBased(sample_ratio)) if endpoint else ALWAYS_OFF
    provider = TracerProvider(resource=resource, sampler=sampler)
    if endpoint:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(endpoint=endpoint, insecure=endpoint.startswith("http://"))
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _consume_only(inner: Any) -> Middleware:
    """``inner`` on consumed messages only: FastStream builds publish middlewares with
    ``msg=None``; those pass through, so a publish keeps the trace headers we set."""

    def middleware(msg: Any, /, *, context: Any) -> BaseMiddleware:
        if msg is None:
            return BaseMiddleware(msg, context=context)
        built: BaseMiddleware = inner(msg, context=context)
        return built

    return middleware


def trace_consumers(broker: AnyBroker, provider: TracerProvider) -> None:
    """Give every subscriber of ``broker`` FastStream's consumer span (outermost).

    The span continues the trace of the message's ``traceparent`` and is current while
    the handler runs. Publishing is left alone: the relay sets its own span's context.
    """
    meters = (
        NoOpMeterProvider()
    )  # metrics go to Prometheus (commerce.platform.observability.metrics)
    inner: Any = (
        KafkaTelemetryMiddleware(tracer_provider=provider, meter_provider=meters)
        if isinstance(broker, KafkaBroker)
        else RabbitTelemetryMiddleware(tracer_provider=provider, meter_provider=meters)
    )
    broker.insert_middleware(_consume_only(inner))


def trace_headers_of(span: Span) -> dict[str, str]:
    """``traceparent`` (and ``tracestate`` if any) naming ``span``; empty if it is invalid."""
    carrier: dict[str, str] = {}
    if span.get_span_context().is_valid:
        _PROPAGATOR.inject(carrier, context=trace.set_span_in_context(span))
    return carrier


def trace_context_of(
    span: Span, *, default: tuple[str | None, str | None]
) -> tuple[str | None, str | None]:
    """``(traceparent, tracestate)`` of ``span``, or ``default`` when it is not a real span."""
    headers = trace_headers_of(span)
    if not headers:
        return default
    return headers["traceparent"], headers.get("tracestate")


def current_trace_headers() -> dict[str, str]:
    """The trace-context headers of the current span (empty when none is recording)."""
    return trace_headers_of(trace.get_current_span())


def with_current_trace(headers: Mapping[str, str]) -> dict[str, str]:
    """``headers`` with the current span's trace context, if there is one; else unchanged."""
    current = current_trace_headers()
    if not current:
        return dict(headers)
    kept = {name: value for name, value in headers.items() if name not in TRACE_HEADERS}
    return kept | current


def samples(tracer: Tracer, parent: Context | None, name: str) -> bool:
    """Whether ``tracer`` would record a span ``name`` under ``parent`` (else: no span).

    Asks the SDK tracer's sampler first, as the SDK itself would: under a valid parent
    (``ParentBased``: the parent's sampled flag decides) and for a root only when the
    sampler never records (``ALWAYS_OFF``); a root under a ratio sampler is left to the
    SDK, which draws the trace id the ratio is decided on. A tracer that is not the
    SDK's (no sampler to ask) always gets its span.
    """
    sampler: Sampler | None = getattr(tracer, "sampler", None)
    if sampler is None:
        return True
    span_context = trace.get_current_span(parent).get_span_context()
    if not span_context.is_valid:
        return sampler is not ALWAYS_OFF
    decision = sampler.should_sample(parent, span_context.trace_id, name).decision
    return decision is not Decision.DROP


@contextmanager
def command_span(
    tracer: Tracer, command: object, envelope: Envelope, *, consumer: str
) -> Iterator[Span]:
    """``handle <Command>``: the use case, child of the consumer span.

    Without a consumer span (tracing is off: no consumer middleware is installed) it
    continues the envelope's ``traceparent``, so the events it causes stay in the trace.
    When the sampler would not record it, no span is made: the block gets the parent
    (the consumer span, or the envelope's context as a non-recording span), whose
    context the events then carry.
    """
    parent = None
    if not trace.get_current_span().get_span_context().is_valid and envelope.traceparent:
        carrier = {"traceparent": envelope.traceparent}
        if envelope.tracestate:
            carrier["tracestate"] = envelope.tracestate
        parent = _PROPAGATOR.extract(carrier)
    name = f"handle {type(command).__name__}"
    if not samples(tracer, parent, name):
        yield trace.get_current_span(parent)
        return
    attributes = {
        "messaging.consumer.group.name": consumer,
        "messaging.message.id": str(envelope.id),
        "cloudevents.event_type": envelope.type,
        "commerce.tenant_id": str(envelope.tenant_id),
    }
    with tracer.start_as_current_span(name, context=parent, attributes=attributes) as span:
        yield span


@contextmanager
def database_span(tracer: Tracer, name: str) -> Iterator[Span]:
    """A span of Postgres work (``db commit``, ``outbox write``), current inside the block.

    Only under a recording span: otherwise the block runs under the current span as is.
    """
    current = trace.get_current_span()
    if not current.is_recording():
        yield current
        return
    with tracer.start_as_current_span(
        name, kind=SpanKind.CLIENT, attributes=_DB_ATTRIBUTES
    ) as span:
        yield span


def start_publish_span(
    tracer: Tracer,
    stream: str,
    *,
    stored: Mapping[str, str],
    message_id: str,
    system: str,
) -> tuple[Span, dict[str, str]]:
    """Start ``publish <stream>``, parented by the trace context ``stored`` with the outbox row.

    Returns the span (the caller ends it once the broker confirmed) and its trace headers:
    the message must carry those, so the consumer's span is the child of this one.
    """
    parent = _PROPAGATOR.extract({k: v for k, v in stored.items() if k in TRACE_HEADERS})
    attributes = {
        "messaging.system": system,
        "messaging.destination.name": stream,
        "messaging.operation.type": "send",
        "messaging.message.id": message_id,
    }
    span = tracer.start_span(
        f"publish {stream}", context=parent, kind=SpanKind.PRODUCER, attributes=attributes
    )
    return span, trace_headers_of(span)
