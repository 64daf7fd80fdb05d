"""Dead letters: which failures are permanent, and the ``x-fault-*`` headers that say why.

The failure policy (:mod:`commerce.platform.delivery.redelivery`) decides when a message is
dead-lettered; this module describes the failure the same way on every transport.
"""

from __future__ import annotations

import json
import traceback
from datetime import datetime

import pydantic
import structlog
from fast_depends.exceptions import ValidationError as DependencyValidationError
from faststream.exceptions import SubscriberNotFound

from commerce.platform.messaging.envelope import EnvelopeError, MissingTenantError
from commerce.platform.messaging.transport import RawMessage

__all__ = ["FAULT_PREFIX", "PERMANENT_ERRORS", "fault_headers"]

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


_REASONS: tuple[tuple[tuple[type[BaseException], ...], str], ...] = (
    ((MissingTenantError,), "missing-tenant"),
    ((EnvelopeError,), "invalid-envelope"),
    ((json.JSONDecodeError, UnicodeDecodeError), "undecodable"),
    ((SubscriberNotFound,), "no-handler"),
    ((pydantic.ValidationError, DependencyValidationError), "schema-invalid"),
)


def _reason(error: BaseException, *, exhausted: bool) -> str:
    if exhausted:
        return "retries-exhausted"
    kinds = (reason for types, reason in _REASONS if isinstance(error, types))
    return next(kinds, "handler-error")


def fault_headers(
    error: BaseException,
    *,
    consumer: str,
    channel: str,
    original: RawMessage,
    now: datetime,
    attempts: int = 1,
    exhausted: bool = False,
) -> dict[str, str]:
    """The ``x-fault-*`` headers describing why ``original`` failed.

    ``attempts`` counts this delivery's handler runs; earlier deliveries' runs (from the
    original's own fault headers) are added. ``exhausted``: a transient failure that ran
    out of retries.
    """
    stack = "".join(traceback.format_exception(error))[-_MAX_STACK:]
    previous = original.headers.get(f"{FAULT_PREFIX}attempts", "0")
    attempts += int(previous) if previous.isdigit() else 0
    first = original.headers.get(f"{FAULT_PREFIX}first-failure-at") or now.isoformat()
    return {
        f"{FAULT_PREFIX}reason": _reason(error, exhausted=exhausted),
        f"{FAULT_PREFIX}exception-type": f"{type(error).__module__}.{type(error).__qualname__}",
        f"{FAULT_PREFIX}message": str(error)[:_MAX_MESSAGE],
        f"{FAULT_PREFIX}stack": stack,
        f"{FAULT_PREFIX}consumer": consumer,
        f"{FAULT_PREFIX}channel": channel,
        f"{FAULT_PREFIX}attempts": str(attempts),
        f"{FAULT_PREFIX}first-failure-at": first,
        f"{FAULT_PREFIX}last-failure-at": now.isoformat(),
    }
