"""Every log line written while a message is consumed names that message.

A broker middleware, outermost, binds the message's CloudEvents identity (``ce-``/``ce_``
headers, read leniently: nothing is validated here) to structlog's context from the
moment the message is received until the last middleware is done with it, so retries,
dead-lettering and FastStream's own lines carry ``message_id``, ``message_type``,
``tenant_id``, ``correlation_id``, ``causation_id`` and ``trace_id`` too, not only the
handler's. While the handlers run, :func:`current_message` returns the message.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from types import TracebackType
from typing import Any

from faststream import BaseMiddleware, StreamMessage
from structlog.contextvars import bind_contextvars, reset_contextvars

from commerce.platform.messaging.transport import AnyBroker, text_headers

__all__ = ["bind_message_context", "current_message", "message_context_of"]

_CURRENT: ContextVar[StreamMessage[Any] | None] = ContextVar("commerce_message", default=None)

_ATTRIBUTES = {
    "id": "message_id",
    "type": "message_type",
    "tenantid": "tenant_id",
    "correlationid": "correlation_id",
    "causationid": "causation_id",
}
_MAX_VALUE = 200


def _headers_of(raw: Any) -> dict[str, str]:
    headers = getattr(raw, "headers", None) or {}
    if isinstance(headers, list | tuple):  # Kafka: [(name, bytes), ...]
        headers = dict(headers)
    return text_headers(headers) if isinstance(headers, Mapping) else {}


def message_context_of(raw: Any) -> dict[str, str]:
    """The log context of a transport-native message (empty if it has no CE headers)."""
    headers = _headers_of(raw)
    context: dict[str, str] = {}
    for attribute, key in _ATTRIBUTES.items():
        value = headers.get(f"ce-{attribute}") or headers.get(f"ce_{attribute}")
        if value:
            context[key] = value[:_MAX_VALUE]
    if traceparent := headers.get("traceparent"):
        context["traceparent"] = traceparent[:_MAX_VALUE]  # rendered as trace_id
    return context


class _MessageLogContext(BaseMiddleware):
    """Binds on receive, unbinds after the last middleware has processed the message."""

    def __init__(self, msg: Any, /, *, context: Any) -> None:
        super().__init__(msg, context=context)
        self._tokens: Mapping[str, Any] = {}

    async def on_receive(self) -> None:
        if self.msg is not None and (bound := message_context_of(self.msg)):
            self._tokens = bind_contextvars(**bound)

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        """Make ``msg`` the :func:`current_message` of its handlers."""
        token = _CURRENT.set(msg)
        try:
            return await call_next(msg)
        finally:
            _CURRENT.reset(token)

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if self._tokens:
            with contextlib.suppress(ValueError):  # bookkeeping must never disturb an ack
                reset_contextvars(**self._tokens)
            self._tokens = {}
        return False


def current_message() -> StreamMessage[Any]:
    """The message being handled (by a broker with :func:`bind_message_context`)."""
    message = _CURRENT.get()
    if message is None:
        raise LookupError("no message is being handled here")
    return message


def bind_message_context(broker: AnyBroker) -> None:
    """Bind each consumed message's identity to the log lines of its processing."""
    broker.insert_middleware(_MessageLogContext)
