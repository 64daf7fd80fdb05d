"""A consumer's guard: it confirms an outage with a probe before counting it, holds
messages while paused, and resumes by itself at reduced concurrency."""

import asyncio
import errno

import pytest

from commerce.platform.resilience.consumer_guard import ConsumerGuard, ConsumerPausedError
from commerce.platform.resilience.kill_switch import KillSwitchPolicy, SwitchState
from commerce.platform.resilience.probes import DependencyProbes

pytestmark = pytest.mark.unit

REFUSED = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed")


class Database:
    """A probe target the test switches on and off."""

    def __init__(self) -> None:
        self.up = True
        self.probed = 0

    async def ping(self) -> None:
        self.probed += 1
        if not self.up:
            raise REFUSED


def _guard(database: Database, **policy: float) -> ConsumerGuard:
    probes = DependencyProbes({"postgres": database.ping}, fresh_for_seconds=0)
    tuning = {"trip_after": 2, "probe_interval_seconds": 0.01, "hold_seconds": 0.2} | policy
    return ConsumerGuard("tests.consumer", KillSwitchPolicy(**tuning), probes)  # type: ignore[arg-type]


async def test_a_failure_whose_dependency_answers_is_the_message_s_own() -> None:
    guard = _guard(Database())
    for _ in range(5):
        assert await guard.outage_in(REFUSED) is None
    assert guard.state is SwitchState.RUNNING


async def test_a_business_failure_is_never_an_outage_and_costs_no_probe() -> None:
    database = Database()
    database.up = False
    guard = _guard(database)
    assert await guard.outage_in(ValueError("bad amount")) is None
    assert database.probed == 0


async def test_confirmed_outages_pause_hold_messages_then_resume_one_at_a_time() -> None:
    database = Database()
    database.up = False
    guard = _guard(database, recovered_after=2, hold_seconds=5)
    assert (await guard.outage_in(REFUSED)) is not None
    assert guard.state is SwitchState.RUNNING
    await guard.outage_in(REFUSED)
    assert guard.state is SwitchState.PAUSED
    assert guard.status().startswith("paused since")

    entered: list[int] = []

    async def message(number: int) -> None:
        async with guard.admitted():
            entered.append(number)
            await asyncio.sleep(0.05)
        await guard.succeeded()

    messages = [asyncio.create_task(message(number)) for number in range(3)]
    await asyncio.sleep(0.1)
    assert entered == [], "nothing is handled while paused"
    database.up = True
    await asyncio.wait_for(asyncio.gather(*messages), 5)
    assert sorted(entered) == [0, 1, 2]
    assert guard.state is SwitchState.RUNNING
    await guard.close()


async def test_a_message_held_past_the_hold_goes_back_to_the_broker() -> None:
    database = Database()
    database.up = False
    guard = _guard(database, hold_seconds=0.1)
    await guard.outage_in(REFUSED)
    await guard.outage_in(REFUSED)
    with pytest.raises(ConsumerPausedError, match="paused: postgres is down") as raised:
        async with guard.admitted():
            pytest.fail("admitted while paused")
    assert await guard.outage_in(raised.value) is not None
    await guard.close()


async def test_recovering_admits_only_its_reduced_concurrency() -> None:
    database = Database()
    database.up = False
    guard = _guard(database, recovering_concurrency=1, recovered_after=100, hold_seconds=5)
    await guard.outage_in(REFUSED)
    await guard.outage_in(REFUSED)
    database.up = True
    while guard.state is not SwitchState.RECOVERING:
        await asyncio.sleep(0.01)
    running = 0
    most = 0

    async def message() -> None:
        nonlocal running, most
        async with guard.admitted():
            running += 1
            most = max(most, running)
            await asyncio.sleep(0.02)
            running -= 1
        await guard.succeeded()

    await asyncio.gather(*(message() for _ in range(5)))
    assert most == 1
    await guard.close()
