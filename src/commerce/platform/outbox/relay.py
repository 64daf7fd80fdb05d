"""The outbox relay: publishes committed outbox rows, in order, with broker confirms.

A pass (``docs/adr/0009-outbox-relay-algorithm.md``):

* reads, in one statement outside any transaction, up to ``batch_size`` unsent rows of the
  lanes this replica holds (:class:`~commerce.platform.outbox.relay_lanes.LaneLease`: each
  aggregate's rows belong to one lane, each lane to one replica at a time), in
  ``position`` order. Outbox rows are inserted after the writer holds its aggregate's
  lock, so for one aggregate ``position`` order is commit order. Of each aggregate it
  takes the rows up to the first whose transaction id is not below the oldest
  transaction still running (``pg_snapshot_xmin``): a row of a transaction still open
  when the relay reads is never skipped, it and everything after it of its aggregate wait;
* publishes them in *waves*: the first row of every aggregate in the batch, all at once,
  then - once the broker confirmed the whole wave - their second rows, and so on, so an
  aggregate's event is only sent once the previous one is confirmed;
* marks the published rows sent in one short transaction (an unreadable row is parked with
  ``failed_at`` instead, never blocking the rows behind it).

Reading holds no lock and no transaction id, so replicas never hold back each other's
visibility horizon. A failed publish leaves its rows unsent: they go out again (at least
once; consumers deduplicate). It wakes on ``NOTIFY`` and polls as a fallback; repeated
failures back off.

Every wave is a call through the ``broker`` circuit breaker and every statement through
the ``postgres`` one (docs/adr/0018): while either is open the relay neither reads nor
publishes, its rows wait in the outbox, and it tries again when the breaker lets a probe
through (a wave of the rows it read), resuming in full once the probe succeeds.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import structlog
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import NoOpTracer, Span, Status, StatusCode, Tracer
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.messaging.envelope import (
    HeaderStyle,
)
from commerce.platform.messaging.transport import OutgoingMessage, Transport
from commerce.platform.observability.metrics import record_relay_published, set_outbox_backlog
from commerce.platform.observability.tracing import TRACE_HEADERS, start_publish_span
from commerce.platform.outbox.relay_batch import Line, outbox_lines
from commerce.platform.outbox.relay_lanes import LaneLease
from commerce.platform.outbox.relay_store import OutboxStore
from commerce.platform.outbox.writer import OUTBOX_CHANNEL
from commerce.platform.postgres.inbox import purge_inbox
from commerce.platform.resilience.breaker import CircuitBreaker, CircuitOpenError

__all__ = ["OutboxRelay"]

_PURGE_SENT = text(
    "DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < now() - make_interval(secs => :age)"
)
_MAX_BACKOFF_SECONDS = 30.0
_BACKLOG_INTERVAL_SECONDS = 5.0
_log = structlog.get_logger("commerce.relay")


class OutboxRelay:
    """Moves outbox rows to the broker. Safe to run as several replicas."""

    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        *,
        database_breaker: CircuitBreaker,
        broker_breaker: CircuitBreaker,
        listen_dsn: str,
        batch_size: int,
        poll_interval: float,
        publish_timeout: float = 10.0,
        sent_retention: float = 86_400.0,
        inbox_retention: float = 7 * 86_400.0,
        purge_interval: float = 300.0,
        tracer: Tracer | None = None,
        lease: LaneLease | None = None,
    ) -> None:
        self._engine = engine
        self._store = OutboxStore(listen_dsn)
        self._tracer = tracer or NoOpTracer()
        self._tracing = _can_record(self._tracer)
        self._next_backlog = 0.0
        self._transport = transport
        self._database = database_breaker
        self._broker = broker_breaker
        self._system = "kafka" if transport.style is HeaderStyle.KAFKA else "rabbitmq"
        self._listen_dsn = listen_dsn.replace("postgresql+asyncpg://", "postgresql://")
        self._lease = lease or LaneLease(listen_dsn, refresh_interval=poll_interval)
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._publish_timeout = publish_timeout
        self._sent_retention = sent_retention
        self._inbox_retention = inbox_retention
        self._purge_interval = purge_interval
        self._next_purge = 0.0
        self._wake = asyncio.Event()

    async def publish_batch(self) -> int:
        """Publish one batch of this replica's lanes; returns how many rows were handled."""
        lanes = await self._lease.lanes()
        if not lanes:
            return 0
        with self._database.guard():
            rows = await self._store.unsent(self._batch_size, lanes)
        lines, unreadable = outbox_lines(rows, self._transport.style)
        if not lines and not unreadable:
            return 0
        await self._publish(lines)
        with self._database.guard():
            await self._store.mark(
                [row["position"] for line in lines for row, _ in line], unreadable
            )
        published = Counter(row["stream"] for line in lines for row, _ in line)
        for stream, count in published.items():
            record_relay_published(stream, count)
        return sum(published.values()) + len(unreadable)

    async def _publish(self, lines: list[Line]) -> None:
        """Publish wave after wave: the k-th row of every aggregate, confirmed, then k+1."""
        for wave in range(max((len(line) for line in lines), default=0)):
            await self._publish_wave([line[wave] for line in lines if len(line) > wave])

    async def _publish_wave(self, wave: list[tuple[Any, OutgoingMessage]]) -> None:
        """Publish one wave, confirmed; a span per event only where its trace is sampled
        (an unsampled row's headers already carry its trace context on)."""
        spans: list[Span] = []
        events: list[tuple[str, OutgoingMessage]] = []
        for row, stored in wave:
            stream, message = row["stream"], stored
            if self._tracing and _sampled(stored.headers):
                span, trace_headers = start_publish_span(
                    self._tracer,
                    stream,
                    stored=stored.headers,
                    message_id=stored.message_id or "",
                    system=self._system,
                )
                spans.append(span)
                if trace_headers:  # the consumer's span becomes a child of this one
                    kept = {k: v for k, v in stored.headers.items() if k not in TRACE_HEADERS}
                    message = replace(stored, headers=kept | trace_headers)
            events.append((stream, message))
        try:
            with self._broker.guard():
                async with asyncio.timeout(self._publish_timeout):
                    await self._transport.publish_events(events)
        except BaseException as error:
            for span in spans:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                span.end()
            raise
        for span in spans:
            span.end()

    async def observe_backlog(self) -> None:
        """Update the outbox backlog gauges (at most every few seconds: a count is a scan)."""
        now = time.monotonic()
        if now < self._next_backlog:
            return
        self._next_backlog = now + _BACKLOG_INTERVAL_SECONDS
        with self._database.guard():
            messages, oldest_age = await self._store.backlog()
        set_outbox_backlog(messages, oldest_age)

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
        older_than = datetime.now(UTC) - timedelta(seconds=self._inbox_retention)
        with self._database.guard():
            async with self._engine.begin() as connection:
                sent = await connection.execute(_PURGE_SENT, {"age": self._sent_retention})
                inbox = await purge_inbox(connection, older_than=older_than)
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
                except CircuitOpenError as refused:  # the breaker logged its opening
                    _log.debug(
                        "relay pass refused: dependency deemed down",
                        dependency=refused.dependency,
                        retry_in_seconds=round(refused.retry_after, 3),
                    )
                    await _sleep_or_stop(stop, refused.retry_after)
                    continue
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
            await self.close()

    async def close(self) -> None:
        """Give up this replica's lanes at once (``run`` does it when it stops)."""
        await self._lease.close()
        await self._store.close()

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


def _can_record(tracer: Tracer) -> bool:
    """Whether ``tracer`` may record a span at all (not a no-op, not sampling nothing)."""
    return not isinstance(tracer, NoOpTracer) and getattr(tracer, "sampler", None) is not ALWAYS_OFF


def _sampled(headers: Mapping[str, str]) -> bool:
    """Whether the W3C ``traceparent`` in ``headers`` has its sampled flag set."""
    traceparent = headers.get("traceparent")
    return (
        isinstance(traceparent, str)
        and len(traceparent) == _TRACEPARENT_LENGTH
        and int(traceparent[-2:], 16) & 1 == 1
    )


_TRACEPARENT_LENGTH = 55  # "00-" 32 hex "-" 16 hex "-" 2 hex


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
