"""Forcing two commands on one event-sourced aggregate to race, for concurrency tests.

:class:`RacingFactory` wraps a unit of work factory: the first ``parties`` appends to the
event store wait for each other (a :class:`Gate`), so every racer has loaded the same
version before any appends. One wins; the others meet a ``ConcurrencyConflict`` and, as
the failure policy does (immediate retries re-run the whole transaction), :func:`retrying`
runs them again. Several factories may share one gate, e.g. those of two workers (a
running service's ``open_unit_of_work`` can be replaced by one), and ``only`` limits the
gate to the units of work of one message type.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from types import TracebackType
from typing import Any, Self

from commerce.platform.eventsourcing.streams import (
    ConcurrencyConflict,
    NewEvent,
    RecordedEvent,
    StreamId,
)
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.transactions.ports import UnitOfWorkFactory
from commerce.platform.transactions.processing import Outcome

__all__ = ["Gate", "RacingFactory", "retrying"]


class Gate:
    """The first ``parties`` callers of :meth:`pass_through` wait until all have arrived.

    After ``timeout`` seconds a caller gives up waiting and goes on (:attr:`met` stays
    false), so a test that expected a race fails on its assertions instead of hanging.
    """

    def __init__(self, parties: int = 2, *, timeout: float = 60) -> None:
        self._barrier = asyncio.Barrier(parties)
        self._left = parties
        self._timeout = timeout
        self.met = False
        """Whether all the parties arrived at once."""

    async def pass_through(self) -> None:
        if self._left > 0:
            self._left -= 1
            try:
                await asyncio.wait_for(self._barrier.wait(), self._timeout)
            except TimeoutError:
                return
            self.met = True


class _GatedStore:
    def __init__(self, store: Any, gate: Gate) -> None:
        self._store = store
        self._gate = gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def append(
        self, stream: StreamId, expected_version: int, events: Sequence[NewEvent]
    ) -> list[RecordedEvent]:
        await self._gate.pass_through()
        appended: list[RecordedEvent] = await self._store.append(stream, expected_version, events)
        return appended


class _GatedUnitOfWork:
    def __init__(self, uow: Any, gate: Gate) -> None:
        self._uow = uow
        self._gate = gate

    def __getattr__(self, name: str) -> Any:
        return getattr(self._uow, name)

    @property
    def events(self) -> _GatedStore:
        return _GatedStore(self._uow.events, self._gate)

    async def __aenter__(self) -> Self:
        await self._uow.__aenter__()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._uow.__aexit__(exc_type, exc, tb)


class RacingFactory:
    """A unit of work factory whose first ``parties`` event-store appends meet first.

    ``gate``: share one with other factories (then ``parties`` is the gate's); ``only``:
    gate only the units of work of messages of that type (the others pass untouched).
    """

    def __init__(
        self,
        inner: UnitOfWorkFactory,
        parties: int = 2,
        *,
        gate: Gate | None = None,
        only: str | None = None,
    ) -> None:
        self._inner = inner
        self.gate = gate or Gate(parties)
        self._only = only

    def __call__(self, context: MessageContext) -> Any:
        uow = self._inner(context)
        if self._only is not None and context.message_type != self._only:
            return uow
        return _GatedUnitOfWork(uow, self.gate)


async def retrying(
    attempt: Callable[[], Awaitable[Outcome]], tries: int = 3
) -> tuple[Outcome, int]:
    """Run ``attempt`` again after each ``ConcurrencyConflict`` (up to ``tries`` runs).

    Returns the outcome and how many conflicts it took.
    """
    for conflicts in range(tries):
        try:
            return await attempt(), conflicts
        except ConcurrencyConflict:
            if conflicts == tries - 1:
                raise
    raise AssertionError("unreachable")
