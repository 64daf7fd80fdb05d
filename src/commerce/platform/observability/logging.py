"""Structured logging: one JSON object per line, with the handled message's context.

Both structlog loggers and the standard library's (FastStream, uvicorn, SQLAlchemy) are
rendered by the same processors, so every line has ``timestamp``, ``level``, ``event``,
``logger`` and whatever context is bound (message id, correlation id, causation id,
tenant id, trace id and span id). Secrets are masked in every line
(:mod:`commerce.platform.observability.redaction`).

A structlog call below the configured level is dropped before any processor runs (no
context merge, no timestamp, no JSON): per-message lines are DEBUG and cost next to
nothing at the default INFO (docs/adr/0027).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import orjson
import structlog
from opentelemetry import trace

from commerce.platform.observability.redaction import redact_event, redactor

__all__ = ["configure_logging"]


def _add_trace_id(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    traceparent = event.pop("traceparent", None)
    if isinstance(traceparent, str) and traceparent.count("-") == 3:
        event.setdefault("trace_id", traceparent.split("-")[1])
    return event


def _add_span_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The current OpenTelemetry span's ``trace_id``/``span_id`` (bound values win)."""
    span_context = trace.get_current_span().get_span_context()
    if span_context.is_valid:
        event.setdefault("trace_id", trace.format_trace_id(span_context.trace_id))
        event.setdefault("span_id", trace.format_span_id(span_context.span_id))
    return event


def _json_line(event: Any, **options: Any) -> str:
    """One JSON object (orjson: a fraction of the standard library's cost per line)."""
    return orjson.dumps(event, default=options.get("default")).decode()


def configure_logging(
    *, level: str = "INFO", json_output: bool = True, secrets: Iterable[str] = ()
) -> None:
    """Route structlog and the standard library through JSON (or console) rendering.

    ``secrets`` (and any URL's password) are masked in every line, exceptions included.
    """
    redactor.register(secrets)
    shared: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_id,
        _add_span_context,
    ]
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(serializer=_json_line)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,  # first: a dropped line costs one level check
            *shared,
            structlog.processors.format_exc_info,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("aiormq", "aio_pika", "aiokafka"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))
