"""A circuit breaker around one outbound dependency: closed -> open -> half-open -> closed.

* **closed**: calls go through; consecutive *outage* failures are counted (a failure is an
  outage when :func:`~commerce.platform.resilience.outages.outage_of` names this breaker's
  dependency or the network; a business error, a constraint violation or a bug proves the
  dependency answered, so it counts as a success). At ``failure_threshold`` it opens.
* **open**: every call is refused at once with :class:`CircuitOpenError`, without touching
  the dependency, for ``reset_timeout`` seconds.
* **half-open**: once the timeout has passed, ONE call goes through as the probe; others are
  refused while it runs. The probe's success closes the breaker, its outage failure opens
  it again. A cancelled probe decides nothing (the next call probes), and a probe running
  longer than ``reset_timeout`` is given up on (the next call probes).

A call admitted before a transition that ends after it (e.g. a slow call started while
closed, ending after the breaker opened) is not counted. Every transition is logged once
(WARNING when it opens, INFO otherwise) and shown as ``commerce_circuit_breaker_state``.

Use :class:`~commerce.platform.resilience.breakers.CircuitBreakers` to get one: each
dependency has exactly one breaker per process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

import structlog

from commerce.platform.observability.metrics_resilience import set_breaker_state
from commerce.platform.resilience.outages import outage_of

__all__ = ["BreakerState", "CircuitBreaker", "CircuitOpenError"]

type BreakerState = Literal["closed", "half-open", "open"]
_log = structlog.get_logger("commerce.resilience")


class CircuitOpenError(ConnectionError):
    """A call refused by an open circuit breaker: ``dependency`` is deemed down.

    ``retry_after``: seconds until the breaker may let a call through again. A subclass of
    :class:`ConnectionError`, so it is an outage of ``dependency`` for ``outage_of``.
    """

    def __init__(self, dependency: str, retry_after: float) -> None:
        super().__init__(
            f"circuit breaker of {dependency} is open; calls refused for {retry_after:.3f}s"
        )
        self.dependency = dependency
        self.retry_after = retry_after


class _Ticket:
    """One admitted call: the breaker's generation when it was let in, and whether it is
    the half-open probe."""

    __slots__ = ("generation", "probe")

    def __init__(self, generation: int, *, probe: bool) -> None:
        self.generation = generation
        self.probe = probe


class CircuitBreaker:
    """The breaker of ``dependency``; see the module documentation for its rules."""

    def __init__(
        self,
        dependency: str,
        *,
        failure_threshold: int,
        reset_timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be at least 1, got {failure_threshold}")
        if reset_timeout <= 0:
            raise ValueError(f"reset_timeout must be positive, got {reset_timeout}")
        self.dependency = dependency
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        """Seconds the breaker stays open before it lets a probe through."""
        self._clock = clock
        self._state: BreakerState = "closed"
        self._failures = 0
        self._generation = 0
        self._opened_at = 0.0
        self._probe: _Ticket | None = None
        self._probe_started = 0.0
        self._down_since = 0.0
        set_breaker_state(dependency, "closed")

    @property
    def state(self) -> BreakerState:
        """``"closed"``, ``"open"`` or ``"half-open"`` (open past its reset timeout)."""
        self._advance()
        return self._state

    @contextmanager
    def guard(self) -> Iterator[None]:
        """``with breaker.guard(): await ...`` runs the block as one call through the
        breaker: refused with :class:`CircuitOpenError` before it starts if the breaker is
        open, and its outcome (the exception leaving the block, or none) is recorded."""
        ticket = self._admit()
        try:
            yield
        except BaseException as error:
            self._settle(ticket, error)
            raise
        self._settle(ticket, None)

    def _admit(self) -> _Ticket:
        self._advance()
        now = self._clock()
        if self._state == "closed":
            return _Ticket(self._generation, probe=False)
        if self._state == "half-open" and (
            self._probe is None or now >= self._probe_started + self.reset_timeout
        ):
            self._probe = _Ticket(self._generation, probe=True)
            self._probe_started = now
            return self._probe
        since = self._opened_at if self._state == "open" else self._probe_started
        raise CircuitOpenError(self.dependency, since + self.reset_timeout - now)

    def _settle(self, ticket: _Ticket, error: BaseException | None) -> None:
        if ticket.probe:
            if self._probe is not ticket:
                return  # given up on: another call is the probe now
            self._probe = None
        elif ticket.generation != self._generation:
            return  # admitted before the last transition: says nothing about now
        if error is not None and not isinstance(error, Exception):
            return  # cancelled or interrupted: no verdict on the dependency
        if error is not None and self._is_outage(error):
            self._failures += 1
            if self._state == "half-open" or self._failures >= self.failure_threshold:
                self._move("open", error=error)
        elif self._state == "half-open":
            self._move("closed")
        else:
            self._failures = 0

    def _is_outage(self, error: BaseException) -> bool:
        outage = outage_of(error)
        return outage is not None and outage.dependency in (self.dependency, "network")

    def _advance(self) -> None:
        if self._state == "open" and self._clock() >= self._opened_at + self.reset_timeout:
            self._move("half-open")

    def _move(self, state: BreakerState, *, error: BaseException | None = None) -> None:
        previous, now = self._state, self._clock()
        self._state = state
        self._generation += 1
        self._probe = None
        set_breaker_state(self.dependency, state)
        if state == "open":
            if previous == "closed":
                self._down_since = now
            self._opened_at = now
            _log.warning(
                "circuit breaker opened: calls refused",
                dependency=self.dependency,
                state=state,
                previous=previous,
                failures=self._failures,
                retry_in_seconds=self.reset_timeout,
                error=f"{type(error).__name__}: {error}"[:300] if error is not None else None,
            )
        elif state == "half-open":
            _log.info(
                "circuit breaker half-open: one probe call goes through",
                dependency=self.dependency,
                state=state,
                previous=previous,
            )
        else:
            self._failures = 0
            _log.info(
                "circuit breaker closed: the dependency answers again",
                dependency=self.dependency,
                state=state,
                previous=previous,
                outage_seconds=round(now - self._down_since, 3),
            )
