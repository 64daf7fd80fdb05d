"""A consumer's kill switch, as a pure state machine: running, paused, recovering.

``running``: messages are handled at full concurrency. A run of ``trip_after`` consecutive
failures that are *confirmed* outages (the failure names an unreachable dependency and a
probe of that dependency fails too) pauses the consumer. ``paused``: no message is handled;
the consumer's guard probes the dependency every ``probe_interval`` seconds. When it
answers, ``recovering``: messages are handled again, ``recovering_concurrency`` at a time;
``recovered_after`` consecutive successes return to ``running``, and one confirmed outage
pauses again at once. A failure that is not an outage (or whose dependency answers) breaks
the run of outages and is left to the consumer's failure policy.

The switch only decides; :class:`~commerce.platform.resilience.consumer_guard.ConsumerGuard`
acts (holds messages, probes, logs, exports the state).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from commerce.platform.resilience.outages import Outage

__all__ = ["KillSwitch", "KillSwitchPolicy", "SwitchState"]


class SwitchState(StrEnum):
    """Whether a consumer takes messages."""

    RUNNING = "running"
    RECOVERING = "recovering"
    PAUSED = "paused"


@dataclass(frozen=True, slots=True)
class KillSwitchPolicy:
    """When a consumer pauses, how it probes, and how it comes back."""

    trip_after: int = 3
    """Consecutive confirmed outages that pause a running consumer."""
    probe_interval_seconds: float = 2.0
    """How often a paused consumer probes its dependencies."""
    hold_seconds: float = 20.0
    """How long a message that arrives while paused is held before going back to the broker."""
    recovering_concurrency: int = 1
    """Messages handled at once while recovering."""
    recovered_after: int = 10
    """Consecutive successes while recovering that restore full concurrency."""

    def __post_init__(self) -> None:
        if min(self.trip_after, self.recovering_concurrency, self.recovered_after) < 1:
            raise ValueError("trip_after, recovering_concurrency and recovered_after must be >= 1")
        if self.probe_interval_seconds <= 0 or self.hold_seconds <= 0:
            raise ValueError("probe_interval_seconds and hold_seconds must be positive")


class KillSwitch:
    """The state of one consumer's kill switch; each method says whether the state changed."""

    def __init__(self, policy: KillSwitchPolicy, *, now: datetime) -> None:
        self.policy = policy
        self.state = SwitchState.RUNNING
        self.since = now
        self.outage: Outage | None = None
        """The outage that paused the consumer (kept while recovering), else ``None``."""
        self._outages_in_a_row = 0
        self._successes_in_a_row = 0

    def succeeded(self, *, now: datetime) -> bool:
        """A message was handled."""
        self._outages_in_a_row = 0
        if self.state is not SwitchState.RECOVERING:
            return False
        self._successes_in_a_row += 1
        if self._successes_in_a_row < self.policy.recovered_after:
            return False
        self._enter(SwitchState.RUNNING, now, outage=None)
        return True

    def failed_otherwise(self) -> None:
        """A message failed for a reason of its own: the run of outages is broken."""
        self._outages_in_a_row = 0
        self._successes_in_a_row = 0

    def failed_by_outage(self, outage: Outage, *, now: datetime) -> bool:
        """A message failed because ``outage``'s dependency is down (a probe confirmed it)."""
        self._successes_in_a_row = 0
        if self.state is SwitchState.PAUSED:
            return False
        self._outages_in_a_row += 1
        running = self.state is SwitchState.RUNNING
        if running and self._outages_in_a_row < self.policy.trip_after:
            return False
        self._enter(SwitchState.PAUSED, now, outage=outage)
        return True

    def dependencies_answered(self, *, now: datetime) -> bool:
        """The probes of a paused consumer's dependencies all answered."""
        if self.state is not SwitchState.PAUSED:
            return False
        self._enter(SwitchState.RECOVERING, now, outage=self.outage)
        return True

    @property
    def concurrency(self) -> int | None:
        """Messages that may be handled at once (``None``: no limit; 0: none)."""
        if self.state is SwitchState.PAUSED:
            return 0
        if self.state is SwitchState.RECOVERING:
            return self.policy.recovering_concurrency
        return None

    def _enter(self, state: SwitchState, now: datetime, *, outage: Outage | None) -> None:
        self.state, self.since, self.outage = state, now, outage
        self._outages_in_a_row = 0
        self._successes_in_a_row = 0
