"""The kill switch's states: it pauses only on a run of confirmed outages, resumes only
when its dependency answers, and comes back to full concurrency only after successes."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.resilience.kill_switch import KillSwitch, KillSwitchPolicy, SwitchState
from commerce.platform.resilience.outages import Outage

pytestmark = pytest.mark.unit

NOW = datetime(2026, 12, 7, tzinfo=UTC)
DOWN = Outage("postgres", "ConnectionRefusedError")
EVENTS = st.sampled_from(["success", "outage", "own-failure", "answered"])


def _apply(switch: KillSwitch, event: str) -> bool:
    if event == "success":
        return switch.succeeded(now=NOW)
    if event == "outage":
        return switch.failed_by_outage(DOWN, now=NOW)
    if event == "own-failure":
        switch.failed_otherwise()
        return False
    return switch.dependencies_answered(now=NOW)


def test_a_run_of_outages_pauses_then_a_probe_and_successes_restore_full_concurrency() -> None:
    switch = KillSwitch(KillSwitchPolicy(trip_after=3, recovered_after=2), now=NOW)
    assert not switch.failed_by_outage(DOWN, now=NOW)
    assert not switch.failed_by_outage(DOWN, now=NOW)
    assert switch.concurrency is None
    assert switch.failed_by_outage(DOWN, now=NOW)
    assert (switch.state, switch.concurrency, switch.outage) == (SwitchState.PAUSED, 0, DOWN)
    assert switch.dependencies_answered(now=NOW)
    assert (switch.state, switch.concurrency) == (SwitchState.RECOVERING, 1)
    assert not switch.succeeded(now=NOW)
    assert switch.succeeded(now=NOW)
    assert (switch.state, switch.concurrency, switch.outage) == (SwitchState.RUNNING, None, None)


def test_one_outage_while_recovering_pauses_again() -> None:
    switch = KillSwitch(KillSwitchPolicy(trip_after=5), now=NOW)
    for _ in range(5):
        switch.failed_by_outage(DOWN, now=NOW)
    switch.dependencies_answered(now=NOW)
    assert switch.failed_by_outage(DOWN, now=NOW)
    assert switch.state is SwitchState.PAUSED


@given(st.lists(EVENTS, max_size=60), st.integers(1, 5), st.integers(1, 5))
def test_a_running_consumer_pauses_only_after_trip_after_outages_in_a_row(
    events: list[str], trip_after: int, recovered_after: int
) -> None:
    policy = KillSwitchPolicy(trip_after=trip_after, recovered_after=recovered_after)
    switch = KillSwitch(policy, now=NOW)
    outages_in_a_row = 0
    for event in events:
        before = switch.state
        _apply(switch, event)
        if event == "outage":
            outages_in_a_row += 1
        elif event != "answered":  # a probe's answer says nothing about messages
            outages_in_a_row = 0
        if before is SwitchState.RUNNING and switch.state is SwitchState.PAUSED:
            assert outages_in_a_row >= trip_after


@given(st.lists(EVENTS, max_size=60), st.integers(1, 5), st.integers(1, 5))
def test_a_paused_consumer_leaves_the_pause_only_through_its_dependency_answering(
    events: list[str], trip_after: int, recovered_after: int
) -> None:
    policy = KillSwitchPolicy(trip_after=trip_after, recovered_after=recovered_after)
    switch = KillSwitch(policy, now=NOW)
    for event in events:
        before = switch.state
        changed = _apply(switch, event)
        assert changed == (switch.state is not before)
        if before is SwitchState.PAUSED and switch.state is not SwitchState.PAUSED:
            assert event == "answered"
            assert switch.state is SwitchState.RECOVERING
        if before is SwitchState.RECOVERING and switch.state is SwitchState.RUNNING:
            assert event == "success"
        assert (
            switch.concurrency
            == {
                SwitchState.RUNNING: None,
                SwitchState.RECOVERING: 1,
                SwitchState.PAUSED: 0,
            }[switch.state]
        )


def test_a_policy_that_could_never_run_is_refused() -> None:
    with pytest.raises(ValueError, match="must be >= 1"):
        KillSwitchPolicy(trip_after=0)
    with pytest.raises(ValueError, match="must be positive"):
        KillSwitchPolicy(hold_seconds=0)
