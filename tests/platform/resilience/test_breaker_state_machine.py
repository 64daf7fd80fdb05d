"""Property (breaker follows its model): under any sequence of successes, outage failures,
failures that are not outages, cancellations, clock advances and calls held open across
transitions (concurrent calls, a half-open probe and the callers refused beside it), the
breaker admits and refuses exactly what a plain model of closed/open/half-open says, with
the same ``retry_after``, and logs and shows every transition once."""

import asyncio
from contextlib import AbstractContextManager
from dataclasses import dataclass, field

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from structlog.testing import capture_logs

from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.observability.metrics_resilience import BREAKER_STATES
from commerce.platform.resilience.breaker import CircuitBreaker, CircuitOpenError

pytestmark = pytest.mark.property

THRESHOLD = 3
RESET = 5.0
OUTCOMES = {
    "success": None,
    "outage": ConnectionRefusedError("refused"),
    "its own outage": TimeoutError(),
    "business error": ValueError("no such item"),
    "another dependency's outage": CircuitOpenError("elsewhere", 1.0),
    "cancelled": asyncio.CancelledError(),  # no Exception: no verdict on the dependency
}
COUNTED = {"outage", "its own outage"}


@dataclass
class Model:
    """Closed, open and half-open, told plainly: what to admit and what each outcome does."""

    state: str = "closed"
    failures: int = 0
    since: float = 0.0  # opened at (open) or probe started (half-open with a probe)
    epoch: int = 0  # bumped by every transition: later outcomes of older calls are ignored
    probe: int | None = None
    transitions: list[str] = field(default_factory=list)

    def at(self, now: float) -> None:
        if self.state == "open" and now >= self.since + RESET:
            self.move("half-open", now)

    def admit(self, call: int, now: float) -> float | None:
        """``None`` when ``call`` is let through, else the ``retry_after`` it is told."""
        self.at(now)
        if self.state == "closed":
            return None
        if self.state == "half-open" and (self.probe is None or now >= self.since + RESET):
            self.probe, self.since = call, now
            return None
        return self.since + RESET - now

    def settle(self, call: int, epoch: int, outcome: str, now: float) -> None:
        if self.state == "half-open" and self.probe == call:
            self.probe = None
        elif self.state == "half-open" or epoch != self.epoch:
            return
        if outcome == "cancelled":
            return
        if outcome in COUNTED:
            self.failures += 1
            if self.state == "half-open" or self.failures >= THRESHOLD:
                self.move("open", now)
        elif self.state == "half-open":
            self.move("closed", now)
        else:
            self.failures = 0

    def move(self, state: str, now: float) -> None:
        self.state, self.epoch, self.probe = state, self.epoch + 1, None
        self.transitions.append(state)
        if state == "open":
            self.since = now
        if state == "closed":
            self.failures = 0


@dataclass
class Held:
    """A call let through and not yet finished."""

    number: int
    epoch: int
    guard: AbstractContextManager[None]


class BreakerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = 1000.0
        self.dependency = "state-machine"  # one label: each example's breaker resets it
        self.capture: AbstractContextManager[list[dict[str, object]]] = capture_logs()
        self.logs = self.capture.__enter__()
        self.breaker = CircuitBreaker(
            self.dependency, failure_threshold=THRESHOLD, reset_timeout=RESET, clock=self.clock
        )
        self.model = Model()
        self.held: list[Held] = []
        self.calls = 0

    def clock(self) -> float:
        return self.now

    def teardown(self) -> None:
        self.capture.__exit__(None, None, None)

    def _start(self) -> Held | None:
        self.calls += 1
        expected = self.model.admit(self.calls, self.now)
        guard = self.breaker.guard()
        if expected is not None:
            with pytest.raises(CircuitOpenError) as refused:
                guard.__enter__()
            assert refused.value.dependency == self.dependency
            assert refused.value.retry_after == pytest.approx(expected)
            return None
        guard.__enter__()  # let through, as the model says (a refusal raises here)
        return Held(self.calls, self.model.epoch, guard)

    def _finish(self, call: Held, outcome: str) -> None:
        error = OUTCOMES[outcome]
        suppressed = call.guard.__exit__(type(error) if error else None, error, None)
        assert not suppressed, "the breaker lets the call's failure through"
        self.model.settle(call.number, call.epoch, outcome, self.now)

    @rule(outcome=st.sampled_from(sorted(OUTCOMES)))
    def call(self, outcome: str) -> None:
        """A call that starts and ends between two other steps."""
        if (started := self._start()) is not None:
            self._finish(started, outcome)

    @precondition(lambda self: len(self.held) < 4)
    @rule()
    def start_call(self) -> None:
        """A call that stays in flight while other steps run (concurrency)."""
        if (started := self._start()) is not None:
            self.held.append(started)

    @precondition(lambda self: bool(self.held))
    @rule(which=st.integers(min_value=0, max_value=3), outcome=st.sampled_from(sorted(OUTCOMES)))
    def finish_call(self, which: int, outcome: str) -> None:
        self._finish(self.held.pop(which % len(self.held)), outcome)

    @rule(quarters=st.integers(min_value=1, max_value=30))
    def advance_clock(self, quarters: int) -> None:
        self.now += quarters / 4

    @invariant()
    def same_state_as_the_model_every_transition_logged_once_and_shown(self) -> None:
        self.model.at(self.now)
        state = self.breaker.state  # an open breaker past its timeout turns half-open now
        assert state == self.model.state
        logged = [e["state"] for e in self.logs if e.get("dependency") == self.dependency]
        assert logged == self.model.transitions
        shown = REGISTRY.get_sample_value(
            "commerce_circuit_breaker_state", {"dependency": self.dependency}
        )
        assert shown == BREAKER_STATES[state]


TestBreakerFollowsItsModel = BreakerMachine.TestCase
TestBreakerFollowsItsModel.settings = settings(
    max_examples=100, stateful_step_count=50, deadline=None
)
