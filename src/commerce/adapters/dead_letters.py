"""Dead letters: undecodable, schema-invalid and tenant-less messages leave the queue.

A FastStream middleware per consumer classifies a failure. Permanent failures go to the
consumer's dead-letter channel, messages no handler accepts go to its skipped channel,
both with the original body and headers untouched plus ``x-fault-*`` headers; then the
original is acked. Anything else is left to the subscriber's ack policy (redelivery).
"""

from __future__ import annotations

import json
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from types import TracebackType
from typing import Any

import pydantic
import structlog
from fast_depends.exceptions import ValidationError as DependencyValidationError
from faststream import BaseMiddleware
from faststream.exceptions import SubscriberNotFound

from commerce.adapters.broker import OutgoingMessage, RawMessage, Transport
from commerce.messages.channels import dead_letter_channel, skipped_channel
from commerce.messages.envelope import EnvelopeError, MissingTenantError

__all__ = ["FAULT_PREFIX", "PERMANENT_ERRORS", "dead_letter_middleware", "fault_headers"]

FAULT_PREFIX = "x-fault-"
PERMANENT_ERRORS: tuple[type[BaseException], ...] = (
    EnvelopeError,
    pydantic.ValidationError,
    DependencyValidationError,
    json.JSONDecodeError,
    UnicodeDecodeError,
)
"""Failures that no redelivery can fix: they skip retries and go to the DLQ."""

_MAX_MESSAGE = 1_000
_MAX_STACK = 4_000
_log = structlog.get_logger("commerce.dead_letters")


def _reason(error: BaseException) -> str:
    if isinstance(error, MissingTenantError):
        return "missing-tenant"
    if isinstance(error, EnvelopeError):
        return "invalid-envelope"
    if isinstance(error, json.JSONDecodeError | UnicodeDecodeError):
        return "undecodable"
    if isinstance(error, SubscriberNotFound):
        return "no-handler"
    return "schema-invalid"


def fault_headers(
    error: BaseException, *, consumer: str, channel: str, original: RawMessage, now: datetime
) -> dict[str, str]:
    """The ``x-fault-*`` headers describing why ``original`` was dead-lettered."""
    stack = "".join(traceback.format_exception(error))[-_MAX_STACK:]
    attempts = int(original.headers.get(f"{FAULT_PREFIX}attempts", "0") or 0) + 1
    first = original.headers.get(f"{FAULT_PREFIX}first-failure-at") or now.isoformat()
    return {
        f"{FAULT_PREFIX}reason": _reason(error),
        f"{FAULT_PREFIX}exception-type": f"{type(error).__module__}.{type(error).__qualname__}",
        f"{FAULT_PREFIX}message": str(error)[:_MAX_MESSAGE],
        f"{FAULT_PREFIX}stack": stack,
        f"{FAULT_PREFIX}consumer": consumer,
        f"{FAULT_PREFIX}channel": channel,
        f"{FAULT_PREFIX}attempts": str(attempts),
        f"{FAULT_PREFIX}first-failure-at": first,
        f"{FAULT_PREFIX}last-failure-at": now.isoformat(),
    }


class _DeadLetterMiddleware(BaseMiddleware):
    """Routes one message's permanent failure to the consumer's DLQ or skipped channel."""

    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: Any,
        consumer: str,
        channel: str,
        transport: Transport,
        clock: Callable[[], datetime],
    ) -> None:
        super().__init__(msg, context=context)
        self._consumer = consumer
        self._channel = channel
        self._transport = transport
        self._clock = clock

    async def after_processed(
        self,
        exc_type: type[BaseException] | None = None,
        exc_val: BaseException | None = None,
        exc_tb: TracebackType | None = None,
    ) -> bool | None:
        if exc_val is None:
            return False
        if isinstance(exc_val, SubscriberNotFound):
            target = skipped_channel(self._consumer)
        elif isinstance(exc_val, PERMANENT_ERRORS):
            target = dead_letter_channel(self._consumer)
        else:
            return False
        original = self._transport.raw(self.msg)
        headers = {
            **original.headers,
            **fault_headers(
                exc_val,
                consumer=self._consumer,
                channel=self._channel,
                original=original,
                now=self._clock(),
            ),
        }
        await self._transport.send_to_channel(
            target,
            OutgoingMessage(
                body=original.body,
                key=original.key or "",
                headers=headers,
                content_type=original.content_type,
            ),
        )
        _log.warning(
            "message dead-lettered",
            consumer=self._consumer,
            target=target,
            reason=headers[f"{FAULT_PREFIX}reason"],
            error=headers[f"{FAULT_PREFIX}message"],
        )
        return True


def dead_letter_middleware(
    *, consumer: str, channel: str, transport: Transport
) -> Callable[..., BaseMiddleware]:
    """The middleware factory for one consumer reading ``channel``."""
    return partial(
        _DeadLetterMiddleware,
        consumer=consumer,
        channel=channel,
        transport=transport,
        clock=lambda: datetime.now(UTC),
    )
