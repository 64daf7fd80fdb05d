"""Which dead letters are announced as ``CommandFaulted``, and what the event carries.

The DLQ archiver asks :class:`FaultAnnouncer` for the work to add to the transaction that
archives a new dead letter: for a command dead-lettered for a technical reason
(:data:`FAULTED_REASONS`) whose id, type and tenant are readable, the fault event staged in
the outbox; for anything else nothing, with the reason logged. The event never carries the
body, the stack or a secret: its error message is the failure's first line with every value
quoted from the body and every known secret masked (``docs/adr/0020-command-fault-events.md``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, get_args
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.delivery.dead_letter_store import (
    AlsoOnArchive,
    DeadLetterRecord,
    ce_attribute,
)
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.messaging.channels import CommandChannel, Consumer
from commerce.platform.messaging.command_faults import CommandFaultedV1, FaultReason
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.observability.redaction import MASK, redactor
from commerce.platform.outbox.writer import OutboxWriter
from commerce.platform.postgres.engine import set_tenant

__all__ = [
    "ERROR_MESSAGE_LENGTH",
    "FAULTED_REASONS",
    "FaultAnnouncement",
    "FaultAnnouncer",
    "Unannounced",
    "announcement_for",
    "safe_error_message",
]

_ANNOUNCED: dict[str, FaultReason] = {reason: reason for reason in get_args(FaultReason)}
FAULTED_REASONS: frozenset[str] = frozenset(_ANNOUNCED)
"""The ``x-fault-reason`` values announced; never ``no-handler`` (skipped, not faulted) nor
``missing-tenant`` (no tenant to announce it to)."""

ERROR_MESSAGE_LENGTH = 200
"""The longest error message an event carries (longer ones end with ``…``)."""

_MIN_QUOTED = 4
"""Body values shorter than this are not masked on their own (``"id"``, ``true``, ``42``)."""
_TOKENS = re.compile(r"[\s\"'`{}\[\](),;:=&]+")

_log = structlog.get_logger("commerce.dead_letters")


@dataclass(frozen=True, slots=True)
class FaultAnnouncement:
    """The fault event of one dead letter, keyed by ``subject``, caused by the command
    whose lineage ``context`` carries into the event's envelope."""

    event: CommandFaultedV1
    context: MessageContext
    subject: str


@dataclass(frozen=True, slots=True)
class Unannounced:
    """Why a dead letter is announced to nobody."""

    why: str


def _quoted_values(body: bytes) -> list[str]:
    """What an error message could quote from ``body``: its text, every scalar of its JSON
    (not the keys: field names are the schema, not the data), or its words when not JSON."""
    text = body.decode(errors="replace")
    found = {text}
    try:
        document: Any = json.loads(text)
    except (ValueError, RecursionError):
        found.update(_TOKENS.split(text))
    else:
        pending = [document]
        while pending:
            value = pending.pop()
            if isinstance(value, dict):
                pending.extend(value.values())
            elif isinstance(value, list):
                pending.extend(value)
            elif value is not None and not isinstance(value, bool):
                found.add(value if isinstance(value, str) else json.dumps(value))
    return sorted((v for v in found if len(v) >= _MIN_QUOTED), key=len, reverse=True)


def safe_error_message(
    message: str, body: bytes, *, redact: Callable[[str], str] = redactor.text
) -> str:
    """The first line of ``message``, secrets and body values masked, at most
    :data:`ERROR_MESSAGE_LENGTH` characters."""
    line = next((part.strip() for part in message.splitlines() if part.strip()), "")
    line = redact(line)
    quoted = _quoted_values(body)
    # Each mask shortens the line, so this ends; masking may join two values into a third.
    while hit := [value for value in quoted if value in line]:
        for value in hit:
            line = line.replace(value, MASK)
    if len(line) > ERROR_MESSAGE_LENGTH:
        line = line[: ERROR_MESSAGE_LENGTH - 1] + "…"
    return line


def _uuid(text: str | None) -> UUID | None:
    try:
        return UUID(text) if text else None
    except ValueError:
        return None


def announcement_for(
    record: DeadLetterRecord, channel: Consumer, *, redact: Callable[[str], str] = redactor.text
) -> FaultAnnouncement | Unannounced:
    """The fault event of ``record``, dead-lettered by ``channel``'s consumer, or why none."""
    if not isinstance(channel, CommandChannel):
        return Unannounced("an event consumer's dead letter has no sender to tell")
    reason = _ANNOUNCED.get(record.reason)
    if reason is None:
        return Unannounced(f"reason {record.reason!r} is not a technical fault of a command")
    headers = record.headers
    command_id = _uuid(ce_attribute(headers, "id"))
    command_type = ce_attribute(headers, "type")
    if command_id is None or not command_type:
        return Unannounced("the command's id or type is unreadable")
    if record.tenant_id is None:
        return Unannounced("the command names no readable tenant")
    correlation_id = _uuid(ce_attribute(headers, "correlationid")) or command_id
    event = CommandFaultedV1(
        command_id=command_id,
        command_type=command_type,
        aggregate_id=record.aggregate_key,
        tenant_id=record.tenant_id,
        correlation_id=correlation_id,
        causation_id=_uuid(ce_attribute(headers, "causationid")),
        reason=reason,
        consumer=record.consumer,
        channel=record.channel,
        attempts=record.attempts,
        exception_type=record.exception_type,
        error_message=safe_error_message(record.error_message, record.body, redact=redact),
        first_failed_at=record.first_failed_at,
        last_failed_at=record.last_failed_at,
    )
    context = MessageContext(
        message_id=command_id,
        message_type=command_type,
        tenant_id=TenantId(record.tenant_id),
        correlation_id=correlation_id,
        causation_id=event.causation_id,
        traceparent=headers.get("traceparent"),
        tracestate=headers.get("tracestate"),
        consumer=record.consumer,
    )
    return FaultAnnouncement(event, context, subject=record.aggregate_key or str(command_id))


def _maps_no_domain_event(event: DomainEvent) -> IntegrationEvent:
    msg = f"a fault announcement publishes no domain event ({type(event).__name__})"
    raise TypeError(msg)


class FaultAnnouncer:
    """Stages a command's fault event in the outbox, in the transaction that archives its
    dead letter: one event per dead letter, published by the relay once it commits."""

    def __init__(self, *, source: str, redact: Callable[[str], str] = redactor.text) -> None:
        self._source = source
        self._redact = redact

    def staging_for(self, record: DeadLetterRecord, channel: Consumer) -> AlsoOnArchive | None:
        """What to add to ``record``'s archiving transaction; ``None`` (logged) if nothing."""
        announcement = announcement_for(record, channel, redact=self._redact)
        if isinstance(announcement, Unannounced):
            _log.info(
                "no fault event for this dead letter",
                consumer=record.consumer,
                message_id=record.message_id,
                reason=record.reason,
                why=announcement.why,
            )
            return None

        async def stage(connection: AsyncConnection) -> None:
            await set_tenant(connection, announcement.event.tenant_id)
            writer = OutboxWriter(
                announcement.context, source=self._source, published_as=_maps_no_domain_event
            )
            writer.announce(
                announcement.event,
                aggregate_id=announcement.subject,
                occurred_at=announcement.event.last_failed_at,
            )
            await writer.flush(connection)

        return stage
