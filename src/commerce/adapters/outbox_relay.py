"""The outbox relay: publishes committed outbox rows, in order, with broker confirms.

Each pass, in one transaction:

* takes only rows whose transaction id is below the oldest still-running transaction
  (``pg_snapshot_xmin``): a row of a transaction still open when the relay reads is never
  skipped, it waits;
* orders them by ``position``. Outbox rows are inserted at commit, after the writer holds
  its aggregate's lock, so for one aggregate position order is commit order (transaction
  ids are not: they are assigned at a transaction's first write);
* takes a transaction-scoped advisory lock per aggregate, so with several relays all
  unsent rows of one aggregate go through one relay at a time, in order, while other
  aggregates proceed in parallel (``FOR UPDATE SKIP LOCKED`` alone would let a second
  relay publish version 2 while the first still publishes version 1);
* publishes with broker confirms - one aggregate's rows one after the other, different
  aggregates concurrently - and marks the rows sent before committing.

It wakes on ``NOTIFY`` and polls as a fallback; repeated failures back off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import structlog
from opentelemetry.trace import NoOpTracer, Tracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.adapters.broker import OutgoingMessage, Transport
from commerce.adapters.inbox import purge_inbox
from commerce.adapters.metrics import record_relay_published, set_outbox_backlog
from commerce.adapters.outbox import OUTBOX_CHANNEL
from commerce.adapters.telemetry import TRACE_HEADERS, publish_span
from commerce.messages.envelope import EnvelopeError, HeaderStyle, parse_envelope

__all__ = ["OutboxRelay"]

_CLAIM = text(
    """
    SELECT position, message_id, aggregate_id, stream, payload, headers
    FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL
      AND txid < pg_snapshot_xmin(pg_current_snapshot())
      AND pg_try_advisory_xact_lock(:lock_space, hashtext(aggregate_type || ':' || aggregate_id))
    ORDER BY position
    LIMIT :limit
    FOR UPDATE SKIP LOCKED
    """
)
_LOCK_SPACE = 0x0B0C  # advisory-lock namespace of the relay's per-aggregate locks
_MARK_SENT = text("UPDATE outbox SET sent_at = now() WHERE position = ANY(:positions)")
_MARK_FAILED = text(
    "UPDATE outbox SET failed_at = now(), last_error = :error WHERE position = :position"
)
_MAX_ERROR = 2_000
_PURGE_SENT = text(
    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => :age)"
)
_MAX_BACKOFF_SECONDS = 30.0
_BACKLOG = text(
    "SELECT count(*) AS messages,"
    " coalesce(extract(epoch FROM now() - min(created_at)), 0) AS oldest_age"
    " FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
)
_BACKLOG_INTERVAL_SECONDS = 1.0
_log = structlog.get_logger("commerce.relay")


class OutboxRelay:
    """Moves outbox rows to the broker. Safe to run as several replicas."""

    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        *,
        listen_dsn: str,
        batch_size: int,
        poll_interval: float,
        sent_retention: float = 86_400.0,
        inbox_retention: float = 7 * 86_400.0,
        purge_interval: float = 300.0,
        tracer: Tracer | None = None,
    ) -> None:
        self._engine = engine
        self._tracer = tracer or NoOpTracer()
        self._next_backlog = 0.0
        self._transport = transport
        self._listen_dsn = listen_dsn.replace("postgresql+asyncpg://", "postgresql://")
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._sent_retention = sent_retention
        self._inbox_retention = inbox_retention
        self._purge_interval = purge_interval
        self._next_purge = 0.0
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish one batch; returns how many rows were sent (0 when idle)."""
        async with self._engine.begin() as connection:
            claim = {"limit": self._batch_size, "lock_space": _LOCK_SPACE}
            rows = (await connection.execute(_CLAIM, claim)).all()
            if not rows:
                return 0
            sent = await self._publish(connection, rows)
            await connection.execute(_MARK_SENT, {"positions": sent})
        return len(rows)

    async def _publish(self, connection: AsyncConnection, rows: Sequence[Any]) -> list[int]:
        """Send ``rows``; a row that cannot be read is parked, not retried.

        Rows of one aggregate go out one after the other, each after the broker confirmed
        the previous one (their order); different aggregates are sent concurrently, so a
        batch waits for about one confirm round trip instead of one per row. Broker
        failures propagate (the first one; the other sends are cancelled): the transaction
        rolls back and the batch is retried.
        """
        lines: dict[tuple[str, str], list[tuple[Any, OutgoingMessage]]] = {}
        for row in rows:
            try:
                message = self._message(row)
            except (EnvelopeError, TypeError, ValueError) as error:
                _log.error("outbox row parked: unreadable", position=row.position, error=str(error))
                await connection.execute(
                    _MARK_FAILED, {"position": row.position, "error": str(error)[:_MAX_ERROR]}
                )
                continue
            lines.setdefault((row.stream, row.aggregate_id), []).append((row, message))
        try:
            async with asyncio.TaskGroup() as group:
                for line in lines.values():
                    group.create_task(self._publish_in_order(line))
        except BaseExceptionGroup as failures:
            raise failures.exceptions[0] from None
        published = Counter(row.stream for line in lines.values() for row, _ in line)
        for stream, count in published.items():
            record_relay_published(stream, count)
        return [row.position for line in lines.values() for row, _ in line]

    async def _publish_in_order(self, line: list[tuple[Any, OutgoingMessage]]) -> None:
        """Publish one aggregate's rows of the batch, each confirmed before the next."""
        system = "kafka" if self._transport.style is HeaderStyle.KAFKA else "rabbitmq"
        for row, stored in line:
            message = stored
            with publish_span(
                self._tracer,
                row.stream,
                stored=row.headers,
                message_id=str(row.message_id),
                system=system,
            ) as trace_headers:
                if trace_headers:  # the consumer's span becomes a child of this one
                    kept = {k: v for k, v in message.headers.items() if k not in TRACE_HEADERS}
                    message = replace(message, headers=kept | trace_headers)
                await self._transport.send_event(row.stream, message)

    def _message(self, row: Any) -> OutgoingMessage:
        envelope = parse_envelope(row.headers)
        return OutgoingMessage(
            body=orjson.dumps(row.payload),
            key=row.aggregate_id,
            headers=envelope.headers(self._transport.style),
            content_type=envelope.content_type,
            message_id=str(row.message_id),
        )

    async def observe_backlog(self) -> None:
        """Update the outbox backlog gauges (at most once a second)."""
        now = time.monotonic()
        if now < self._next_backlog:
            return
        self._next_backlog = now + _BACKLOG_INTERVAL_SECONDS
        async with self._engine.connect() as connection:
            row = (await connection.execute(_BACKLOG)).one()
        set_outbox_backlog(int(row.messages), float(row.oldest_age))

    async def drain(self) -> int:
        """Publish until no eligible row is left; returns how many were sent."""
        total = 0
        while sent := await self.publish_batch():
            total += sent
        return total

    async def purge(self) -> tuple[int, int]:
        """Delete sent outbox rows and inbox rows past their retention; returns the counts.

        The inbox keeps rows longer than any retry schedule, so a late redelivery is still
        recognised as a duplicate.
        """
        async with self._engine.begin() as connection:
            sent = await connection.execute(_PURGE_SENT, {"age": self._sent_retention})
            inbox = await purge_inbox(
                connection, older_than=datetime.now(UTC) - timedelta(seconds=self._inbox_retention)
            )
        return sent.rowcount, inbox

    async def _purge_when_due(self) -> None:
        now = time.monotonic()
        if now >= self._next_purge:
            self._next_purge = now + self._purge_interval
            sent, inbox = await self.purge()
            if sent or inbox:
                _log.info("retention purge", outbox_rows=sent, inbox_rows=inbox)

    async def run(self, stop: asyncio.Event) -> None:
        """Relay until ``stop`` is set: drain, then sleep until NOTIFY or the poll timer."""
        listener = asyncio.create_task(self._listen(stop), name="outbox-listen")
        failures = 0
        try:
            while not stop.is_set():
                # Cleared before the pass: a NOTIFY arriving during it is not lost.
                self._wake.clear()
                try:
                    sent = await self.drain()
                    if sent:
                        _log.debug("outbox rows published", count=sent)
                    await self.observe_backlog()
                    await self._purge_when_due()
                    failures = 0
                except Exception:
                    failures += 1
                    backoff = min(self._poll_interval * 2 ** (failures - 1), _MAX_BACKOFF_SECONDS)
                    _log.exception("relay pass failed; retrying", retry_in_seconds=backoff)
                    await _sleep_or_stop(stop, backoff)
                    continue
                waiters = [asyncio.create_task(self._wake.wait()), asyncio.create_task(stop.wait())]
                _, pending = await asyncio.wait(
                    waiters, timeout=self._poll_interval, return_when=asyncio.FIRST_COMPLETED
                )
                for task in pending:
                    task.cancel()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def _listen(self, stop: asyncio.Event) -> None:
        """Keep a LISTEN connection open, reconnecting after failures."""
        while not stop.is_set():
            try:
                connection = await asyncpg.connect(self._listen_dsn)
            except (OSError, asyncpg.PostgresError) as error:
                _log.warning("LISTEN connection failed; polling meanwhile", error=str(error))
                await _sleep_or_stop(stop, self._poll_interval * 5)
                continue
            try:
                await connection.add_listener(OUTBOX_CHANNEL, self._on_notify)
                self._wake.set()
                while not stop.is_set() and not connection.is_closed():
                    await _sleep_or_stop(stop, 1.0)
            finally:
                with contextlib.suppress(Exception):
                    await connection.close()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
