"""The outbox: integration events staged in the handler's transaction.

Rows are written in one multi-row ``INSERT`` at commit; :func:`notify_relay` in the same
transaction wakes the relay the moment it commits. Each row carries its ready-to-send
``body`` (the event's JSON, encoded once here) besides the ``payload`` document, so the
relay sends bytes without re-serialising (docs/adr/0026).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import new_uuid7
from commerce.platform.kit.message_context import MessageContext, Rejection
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.rejections import CommandRejectedV1
from commerce.platform.observability.tracing import with_current_trace
from commerce.platform.postgres.engine import driver_of, json_text

__all__ = ["OUTBOX_CHANNEL", "OutboxWriter", "PublishedAs", "notify_relay"]

OUTBOX_CHANNEL = "commerce_outbox"
"""The LISTEN/NOTIFY channel the relay listens on."""

# Per-message statements, on asyncpg directly (``database.driver_of``).
_COLUMNS = (
    "message_id",
    "tenant_id",
    "aggregate_type",
    "aggregate_id",
    "aggregate_version",
    "event_type",
    "stream",
    "payload",
    "headers",
    "occurred_at",
    "body",
)
_INSERT = (
    "INSERT INTO outbox (message_id, tenant_id, aggregate_type, aggregate_id, aggregate_version,"
    " event_type, stream, payload, headers, occurred_at, body)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
)
_NOTIFY = f"NOTIFY {OUTBOX_CHANNEL}"


type PublishedAs = Callable[[DomainEvent], IntegrationEvent]
"""The integration event published for a domain event (the bounded contexts' mapping)."""


class OutboxWriter:
    """:class:`commerce.platform.transactions.ports.Outbox` that writes rows at commit."""

    def __init__(self, context: MessageContext, *, source: str, published_as: PublishedAs) -> None:
        self._context = context
        self._source = source
        self._published_as = published_as
        self._rows: list[dict[str, Any]] = []

    def publish(self, events: Iterable[DomainEvent]) -> None:
        """Stage the integration event of each domain event."""
        for event in events:
            self._stage(
                self._published_as(event),
                aggregate_id=event.aggregate_id,
                aggregate_version=event.version,
                occurred_at=event.occurred_at,
            )

    def reject(self, rejection: Rejection) -> None:
        """Stage ``CommandRejected`` for the command being handled."""
        event = CommandRejectedV1(
            command_id=self._context.message_id,
            command_type=rejection.command_type,
            aggregate_id=rejection.aggregate_id,
            reason_code=rejection.reason_code,
            reason=rejection.reason,
            retry_after_seconds=rejection.retry_after_seconds,
            rejected_at=datetime.now(UTC),
        )
        self._stage(
            event,
            aggregate_id=rejection.aggregate_id,
            aggregate_version=None,
            occurred_at=event.rejected_at,
        )

    def announce(
        self, event: IntegrationEvent, *, aggregate_id: str, occurred_at: datetime
    ) -> None:
        """Stage ``event``, which no domain event maps to (a command's fault), keyed by
        ``aggregate_id``; it is caused by the message of this writer's context."""
        self._stage(
            event, aggregate_id=aggregate_id, aggregate_version=None, occurred_at=occurred_at
        )

    def _stage(
        self,
        event: IntegrationEvent,
        *,
        aggregate_id: str,
        aggregate_version: int | None,
        occurred_at: datetime,
    ) -> None:
        message_id = new_uuid7()
        envelope = Envelope(
            id=message_id,
            type=event.message_type,
            source=self._source,
            time=occurred_at,
            tenant_id=self._context.tenant_id.value,
            correlation_id=self._context.correlation_id,
            causation_id=self._context.message_id,
            subject=aggregate_id,
            aggregate_version=aggregate_version,
            traceparent=self._context.traceparent,
            tracestate=self._context.tracestate,
        )
        self._rows.append(
            {
                "message_id": message_id,
                "tenant_id": self._context.tenant_id.value,
                "aggregate_type": event.stream.aggregate_type,
                "aggregate_id": aggregate_id,
                "aggregate_version": aggregate_version,
                "event_type": event.message_type,
                "stream": event.stream.name,
                "body": orjson.dumps(event.model_dump(mode="json")),
                "headers": envelope.headers(HeaderStyle.RABBIT),
                "occurred_at": occurred_at,
            }
        )

    def mark(self) -> int:
        """A bookmark of what is staged now, for :meth:`rewind`."""
        return len(self._rows)

    def rewind(self, mark: int) -> None:
        """Forget the events staged since :meth:`mark` returned ``mark`` (their work was undone)."""
        del self._rows[mark:]

    async def flush(self, connection: AsyncConnection, *, notify: bool = True) -> int:
        """Insert the staged rows (and :func:`notify_relay`); returns how many were written.

        Each row's headers get the trace context of the span current now (the unit of
        work's ``outbox write``), so the relay's publish span continues this trace.
        ``notify=False`` leaves the ``NOTIFY`` to the caller (one per shared transaction).
        """
        if not self._rows:
            return 0
        rows = [
            tuple(
                json_text(with_current_trace(row["headers"]))
                if column == "headers"
                else row["body"].decode()
                if column == "payload"
                else row[column]
                for column in _COLUMNS
            )
            for row in self._rows
        ]
        self._rows = []
        raw = await driver_of(connection)
        await raw.executemany(_INSERT, rows)  # pipelined: one round trip
        if notify:
            await raw.execute(_NOTIFY)
        return len(rows)


async def notify_relay(connection: AsyncConnection) -> None:
    """``NOTIFY`` the relay; Postgres delivers it when the transaction commits."""
    await (await driver_of(connection)).execute(_NOTIFY)
