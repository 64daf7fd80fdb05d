"""The bulkhead: at most ``limit`` inside, the others wait in order, cancellation loses no
slot, and the in-flight gauge follows."""

import asyncio

import pytest

from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.resilience.bulkhead import Bulkhead

pytestmark = pytest.mark.unit


async def _settle() -> None:
    """Let every task that can run, run until it waits (the loop has nothing left to do)."""
    for _ in range(20):
        await asyncio.sleep(0)


class Holder:
    """A task that enters the bulkhead, records it, and stays until told to leave."""

    def __init__(self, bulkhead: Bulkhead, name: str, entered: list[str]) -> None:
        self.leave = asyncio.Event()
        self._bulkhead = bulkhead
        self._name = name
        self._entered = entered
        self.task = asyncio.create_task(self._run(), name=name)

    async def _run(self) -> None:
        async with self._bulkhead:
            self._entered.append(self._name)
            await self.leave.wait()


def _gauge(group: str) -> float | None:
    return REGISTRY.get_sample_value("commerce_bulkhead_in_flight", {"group": group})


def test_a_limit_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Bulkhead("commands", 0)


async def test_the_one_over_the_limit_waits_until_a_slot_is_free() -> None:
    bulkhead = Bulkhead("unit-limit", 2)
    entered: list[str] = []
    first, second, third = (Holder(bulkhead, name, entered) for name in ("a", "b", "c"))
    await _settle()
    assert entered == ["a", "b"]
    assert bulkhead.in_flight == 2
    assert not third.task.done()

    first.leave.set()
    await _settle()
    assert entered == ["a", "b", "c"]
    assert bulkhead.in_flight == 2
    for holder in (second, third):
        holder.leave.set()
    await asyncio.gather(first.task, second.task, third.task)
    assert bulkhead.in_flight == 0


async def test_waiters_enter_in_arrival_order() -> None:
    bulkhead = Bulkhead("unit-fifo", 1)
    entered: list[str] = []
    holders = [Holder(bulkhead, name, entered) for name in ("first", "w1", "w2", "w3")]
    await _settle()
    for holder in holders:
        holder.leave.set()
        await _settle()
    await asyncio.gather(*(holder.task for holder in holders))
    assert entered == ["first", "w1", "w2", "w3"]


async def test_a_waiter_cancelled_before_its_turn_takes_no_slot() -> None:
    bulkhead = Bulkhead("unit-cancel-waiting", 1)
    entered: list[str] = []
    holder, cancelled, next_one = (Holder(bulkhead, n, entered) for n in ("h", "x", "n"))
    await _settle()
    cancelled.task.cancel()
    await _settle()
    holder.leave.set()
    await _settle()
    assert entered == ["h", "n"]
    assert cancelled.task.cancelled()
    next_one.leave.set()
    await asyncio.gather(holder.task, next_one.task)
    assert bulkhead.in_flight == 0


async def test_a_waiter_cancelled_just_as_its_turn_came_hands_the_slot_on() -> None:
    bulkhead = Bulkhead("unit-cancel-woken", 1)
    entered: list[str] = []
    holder, woken, next_one = (Holder(bulkhead, n, entered) for n in ("h", "w", "n"))
    await _settle()
    holder.leave.set()
    await asyncio.sleep(0)  # the holder leaves and wakes ``w``, which has not run yet
    woken.task.cancel()
    await _settle()
    assert entered == ["h", "n"]
    assert woken.task.cancelled()
    next_one.leave.set()
    await asyncio.gather(holder.task, next_one.task)
    assert bulkhead.in_flight == 0


async def test_a_message_cancelled_inside_gives_its_slot_back() -> None:
    bulkhead = Bulkhead("unit-cancel-inside", 1)
    entered: list[str] = []
    holder, waiter = Holder(bulkhead, "h", entered), Holder(bulkhead, "w", entered)
    await _settle()
    holder.task.cancel()
    await _settle()
    assert entered == ["h", "w"]
    assert holder.task.cancelled()
    waiter.leave.set()
    await waiter.task
    assert bulkhead.in_flight == 0


async def test_a_handler_that_raises_gives_its_slot_back() -> None:
    bulkhead = Bulkhead("unit-raises", 1)

    async def failing() -> None:
        async with bulkhead:
            raise RuntimeError("handler failed")

    with pytest.raises(RuntimeError, match="handler failed"):
        await failing()
    entered: list[str] = []
    holder = Holder(bulkhead, "next", entered)
    await _settle()
    assert entered == ["next"]
    holder.leave.set()
    await holder.task
    assert bulkhead.in_flight == 0


async def test_the_gauge_shows_the_messages_in_flight_by_group() -> None:
    bulkhead = Bulkhead("unit-gauge", 3)
    assert _gauge("unit-gauge") == 0
    entered: list[str] = []
    holders = [Holder(bulkhead, name, entered) for name in ("a", "b")]
    await _settle()
    assert _gauge("unit-gauge") == 2
    for holder in holders:
        holder.leave.set()
    await asyncio.gather(*(holder.task for holder in holders))
    assert _gauge("unit-gauge") == 0
