"""The reliability drill's sender: publishes the plan while the worker keeps up, mixes in
follow-up stages as they fall due, and injects each fault at its place in the stream."""

import asyncio
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from uuid import UUID

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox
from tests.support.drill_plan import DRILL_CHANNELS, Drill, FollowUps, Message

__all__ = ["BACKLOG", "COMMAND_CONSUMERS", "GATE_EVERY", "Fault", "applied", "send_all", "wait_for"]

BACKLOG, GATE_EVERY = 500, 100  # at most 500 valid commands ahead of the worker, checked
COMMAND_CONSUMERS = tuple(channel.consumer for channel in DRILL_CHANNELS)

type Fault = Callable[[], Awaitable[None]]


async def wait_for(
    check: Callable[[], Awaitable[bool]], timeout: float, what: str, poll: float = 0.5
) -> None:
    """Until ``check()`` holds; prints how long it took (the drill's timeline, shown with
    a failure: which phase ate the time)."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        if await check():
            print(f"drill: {what} after {time.monotonic() - started:.1f} s", file=sys.stderr)
            return
        await asyncio.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


async def applied(engine: AsyncEngine, tenant: UUID, at_least: int) -> bool:
    """Whether ``tenant`` has ``at_least`` commands applied (false while the database is
    down): inbox rows of the drill's command consumers."""
    try:
        async with tenant_transaction(engine, tenant) as connection:
            count = await connection.scalar(
                select(func.count())
                .select_from(inbox)
                .where(inbox.c.consumer.in_(COMMAND_CONSUMERS))
            )
    except (SQLAlchemyError, OSError):
        return False
    return (count or 0) >= at_least


async def send_all(
    drill: Drill,
    publish: Callable[[Message], Awaitable[None]],
    engine: AsyncEngine,
    faults: dict[int, Fault],
) -> None:
    """Publish the first wave with each follow-up stage mixed in as soon as it is due,
    keeping the worker at most ``BACKLOG`` commands behind, and run each fault once its
    many messages were sent."""
    first_wave, due = deque(drill.first_wave), deque[Message]()
    follow_ups = FollowUps(drill)
    sent: set[str] = set()  # ids of the valid commands published so far
    published = 0
    while first_wave or due or follow_ups.pending:
        if published in faults:
            await faults.pop(published)()
        if not (due or first_wave):
            await asyncio.sleep(0.3)  # the last stages wait for their users
            due += await follow_ups.due(engine)
            continue
        if published % GATE_EVERY == 0:
            floor = len(sent) - BACKLOG

            async def caught_up(floor: int = floor) -> bool:
                return await applied(engine, drill.tenant, floor)

            await wait_for(caught_up, 180, f"{floor} commands applied (backlog)")
            due += await follow_ups.due(engine)
        message = due.popleft() if due else first_wave.popleft()
        await publish(message)
        published += 1
        if message.message_id in drill.valid:
            sent.add(message.message_id)
    if faults:
        raise AssertionError(f"faults never injected, at messages {sorted(faults)}")
