"""Operator signals: what waits for an operator, counted from the stores for ``/metrics``.

Two kinds of work wait for a person: dead letters not yet replayed or purged
(``dead_letters.status = 'parked'``, :mod:`.dead_letter_store`) and the holds of ordered
consumers with the messages parked behind them (:mod:`.sequence_holds`). Counters show
that such work *arrived*; alerts need the level *now*, from the stores themselves.

:class:`OperatorSignals` reads both every ``interval`` seconds and sets the gauges
``commerce_dead_letters_unresolved``, ``commerce_parked_holds``,
``commerce_parked_holds_oldest_age_seconds`` and ``commerce_parked_holds_messages``. A scrape
never touches the database: a database outage leaves the gauges at their last values (and a
warning in the log) until a read succeeds again. A consumer whose rows are all resolved
drops to ``0``, and every consumer the service knows is shown (at ``0`` when nothing
waits) from the first successful read on, so the first dead letter is an increase that a
rule over a window can see, not a series appearing from nothing. Every worker counts the
same tables: rules aggregate with ``max by (consumer)``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import structlog
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.delivery.dead_letter_store import DeadLetterStatus
from commerce.platform.delivery.sequence_holds import HoldState
from commerce.platform.observability.metrics_holds import set_parked_holds
from commerce.platform.observability.metrics_resilience import set_dead_letters_unresolved
from commerce.platform.postgres.tables import dead_letters, parked_messages, sequence_holds

__all__ = ["HeldBack", "OperatorSignals", "WaitingWork", "read_waiting_work"]

_log = structlog.get_logger("commerce.operator_signals")


@dataclass(frozen=True, slots=True)
class HeldBack:
    """What one ordered consumer holds back now."""

    holds: int = 0
    """Aggregates held behind a message that left the line, not yet released."""
    oldest_age_seconds: float = 0.0
    """Seconds since the oldest of those holds began (0 when none)."""
    parked_messages: int = 0
    """Messages parked behind any of its holds (releasing ones included)."""


@dataclass(frozen=True, slots=True)
class WaitingWork:
    """What waits for an operator, per consumer; consumers with nothing waiting are absent."""

    dead_letters: Mapping[str, int]
    """Unresolved (neither replayed nor purged) dead letters per consumer."""
    held_back: Mapping[str, HeldBack]
    """Holds and parked messages per ordered consumer."""


_UNRESOLVED = (
    select(dead_letters.c.consumer, func.count().label("unresolved"))
    .where(dead_letters.c.status == DeadLetterStatus.PARKED.value)
    .group_by(dead_letters.c.consumer)
)
_HELD = sequence_holds.c.state != HoldState.RELEASING.value
_HOLDS = select(
    sequence_holds.c.consumer,
    func.count().filter(_HELD).label("holds"),
    func.extract("epoch", func.now() - func.min(sequence_holds.c.created_at).filter(_HELD)).label(
        "oldest_age"
    ),
).group_by(sequence_holds.c.consumer)
_PARKED = select(parked_messages.c.consumer, func.count().label("parked")).group_by(
    parked_messages.c.consumer
)


async def read_waiting_work(engine: AsyncEngine) -> WaitingWork:
    """Count unresolved dead letters, holds and parked messages, per consumer.

    The login needs ``SELECT (consumer, status)`` on ``dead_letters`` (revision 0009 grants
    it to the app role) and ``SELECT`` on ``sequence_holds`` and ``parked_messages``.
    """
    async with engine.connect() as connection:
        unresolved = {
            row.consumer: int(row.unresolved) for row in await connection.execute(_UNRESOLVED)
        }
        holds = (await connection.execute(_HOLDS)).all()
        parked = {row.consumer: int(row.parked) for row in await connection.execute(_PARKED)}
    held_back = {
        row.consumer: HeldBack(
            holds=int(row.holds),
            oldest_age_seconds=float(row.oldest_age or 0.0),
            parked_messages=parked.get(row.consumer, 0),
        )
        for row in holds
    }
    # A parked row always has its hold (foreign key), but the hold may have begun between
    # the two reads: its messages count all the same.
    held_back |= {
        consumer: HeldBack(parked_messages=count)
        for consumer, count in parked.items()
        if consumer not in held_back
    }
    return WaitingWork(dead_letters=unresolved, held_back=held_back)


class OperatorSignals:
    """Keeps the operator-signal gauges in step with the stores, every ``interval`` seconds."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        interval: float,
        consumers: Iterable[str] = (),
        ordered_consumers: Iterable[str] = (),
        timeout: float = 10.0,
    ) -> None:
        """``consumers`` (every one with a DLQ) and ``ordered_consumers`` (those that hold)
        are shown, at ``0`` when nothing waits; ``timeout`` bounds one read of the stores."""
        self._engine = engine
        self._interval = interval
        self._timeout = timeout
        self._dead_letter_consumers = set(consumers)
        self._ordered_consumers = set(ordered_consumers)

    def show(self, work: WaitingWork) -> None:
        """Set the gauges to ``work``; a consumer shown before and absent now shows ``0``."""
        self._dead_letter_consumers |= work.dead_letters.keys()
        self._ordered_consumers |= work.held_back.keys()
        for consumer in sorted(self._dead_letter_consumers):
            set_dead_letters_unresolved(consumer, work.dead_letters.get(consumer, 0))
        for consumer in sorted(self._ordered_consumers):
            held = work.held_back.get(consumer, HeldBack())
            set_parked_holds(
                consumer,
                holds=held.holds,
                oldest_age_seconds=held.oldest_age_seconds,
                parked_messages=held.parked_messages,
            )

    async def refresh_once(self) -> None:
        """Read the stores once and show what they hold; raises if the read fails."""
        async with asyncio.timeout(self._timeout):
            work = await read_waiting_work(self._engine)
        self.show(work)

    async def run(self, stop: asyncio.Event) -> None:
        """Refresh until ``stop`` is set; a failed read is logged and the gauges keep their
        last values until the next one succeeds."""
        while not stop.is_set():
            try:
                await self.refresh_once()
            except Exception as error:
                _log.warning(
                    "operator signals not refreshed; the gauges keep their last values",
                    error=str(error) or type(error).__name__,
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
