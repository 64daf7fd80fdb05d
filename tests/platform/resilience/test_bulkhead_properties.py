"""Properties of the bulkhead under any interleaving of arrivals, departures and
cancellations (the event loop's order is deterministic; Hypothesis picks the schedule)."""

import asyncio
from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.platform.resilience.bulkhead import Bulkhead

pytestmark = pytest.mark.property


@dataclass(frozen=True)
class Visit:
    """One message: arrives after ``arrival`` loop steps, stays ``stay`` steps inside, and
    is cancelled at step ``cancelled_at`` (waiting, inside or already gone) if not ``None``."""

    arrival: int
    stay: int
    cancelled_at: int | None


VISITS = st.lists(
    st.builds(
        Visit,
        arrival=st.integers(0, 15),
        stay=st.integers(0, 15),
        cancelled_at=st.none() | st.integers(0, 40),
    ),
    min_size=1,
    max_size=12,
)


@dataclass
class Observed:
    inside: int = 0
    most_inside: int = 0
    finished: int = 0
    miscounted: bool = False


async def _run(limit: int, visits: list[Visit]) -> tuple[Bulkhead, Observed, list[bool]]:
    bulkhead = Bulkhead("property", limit)
    observed = Observed()

    async def visit(plan: Visit) -> None:
        for _ in range(plan.arrival):
            await asyncio.sleep(0)
        async with bulkhead:
            observed.inside += 1
            observed.most_inside = max(observed.most_inside, observed.inside)
            try:
                for _ in range(plan.stay + 1):
                    observed.miscounted |= bulkhead.in_flight != observed.inside
                    await asyncio.sleep(0)
            finally:
                observed.inside -= 1
        observed.finished += 1

    tasks = [asyncio.create_task(visit(plan)) for plan in visits]
    step = 0
    bound = sum(plan.arrival + plan.stay + 2 for plan in visits) + 50
    while not all(task.done() for task in tasks) and step < bound:
        for plan, task in zip(visits, tasks, strict=True):
            if plan.cancelled_at == step:
                task.cancel()
        await asyncio.sleep(0)
        step += 1
    stuck = [not task.done() for task in tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return bulkhead, observed, stuck


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), VISITS)
def test_in_flight_never_exceeds_the_limit_for_any_interleaving(
    limit: int, visits: list[Visit]
) -> None:
    """Property (bounded concurrency): whatever the arrivals, stays and cancellations,
    never more than ``limit`` messages are inside at once, and ``in_flight`` counts them."""
    _, observed, _ = asyncio.run(_run(limit, visits))
    assert observed.most_inside <= limit
    assert not observed.miscounted


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 5), VISITS)
def test_no_slot_is_lost_whatever_is_cancelled(limit: int, visits: list[Visit]) -> None:
    """Property (no lost slots): every message that is not cancelled gets in and out
    within a bounded number of loop steps, and the bulkhead ends empty; cancelling a
    waiting or an inside message never keeps a slot taken."""
    bulkhead, observed, stuck = asyncio.run(_run(limit, visits))
    assert not any(stuck)
    assert bulkhead.in_flight == 0
    never_cancelled = sum(plan.cancelled_at is None for plan in visits)
    assert observed.finished >= never_cancelled
