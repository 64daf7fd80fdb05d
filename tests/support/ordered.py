"""An ordered test consumer: records the order events arrive in and fails on demand."""

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID, uuid4

from commerce.bootstrap.service import Service, build_service
from commerce.bootstrap.wiring import build_transport
from commerce.config import Settings
from commerce.identity.subscribers import CurrentEnvelope
from commerce.platform.delivery.dead_letter_console import DeadLetterConsole
from commerce.platform.delivery.dead_letter_store import DeadLetter, DeadLetterFilter
from commerce.platform.messaging.channels import EventConsumer, EventStream, RetryPolicy
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.transport import OutgoingMessage
from commerce.platform.postgres.engine import create_engine

__all__ = [
    "THINGS",
    "Poisoned",
    "StepRecorder",
    "console_for",
    "letters_of",
    "ordered_consumer",
    "ordered_worker",
    "publish_steps",
    "until",
]

THINGS = EventStream(
    name="tests.things",
    aggregate_type="tests.thing",
    description="Test events; each body carries the aggregate version as `version`.",
)


class Poisoned(Exception):
    """A failure no retry fixes (declared permanent by the test consumer's policy)."""


def ordered_consumer(name: str = "tests.ordered-projection") -> EventConsumer:
    """The test consumer: one immediate retry, two short delayed rounds."""
    return EventConsumer(
        name=name,
        stream=THINGS,
        description="Records event order for the tests.",
        retry=RetryPolicy(
            immediate=1,
            rounds=2,
            initial_delay=0.5,
            multiplier=1,
            jitter=0.1,
            permanent=(Poisoned,),
        ),
    )


class StepRecorder:
    """The handler: records ``(key, version)`` in arrival order, fails as the test says."""

    def __init__(self, work_seconds: float = 0.0) -> None:
        self.handled: dict[str, list[int]] = defaultdict(list)
        self.finished_at: dict[tuple[str, int], float] = {}
        self.poison: set[tuple[str, int]] = set()
        self.flaky: dict[tuple[str, int], int] = {}
        self.attempts: dict[tuple[str, int], int] = defaultdict(int)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight_per_key = 0
        self.max_in_flight = 0
        self._work_seconds = work_seconds

    async def __call__(self, body: dict[str, Any], envelope: CurrentEnvelope) -> None:
        key, version = str(envelope.subject), int(body["version"])
        self.attempts[key, version] += 1
        self.in_flight[key] += 1
        self.max_in_flight_per_key = max(self.max_in_flight_per_key, self.in_flight[key])
        self.max_in_flight = max(self.max_in_flight, sum(self.in_flight.values()))
        try:
            await asyncio.sleep(self._work_seconds)
            if (key, version) in self.poison:
                raise Poisoned(f"{key} v{version} cannot be handled")
            if self.attempts[key, version] <= self.flaky.get((key, version), 0):
                raise ConnectionError(f"{key} v{version}: dependency down")
            self.handled[key].append(version)
            self.finished_at[key, version] = time.monotonic()
        finally:
            self.in_flight[key] -= 1


@asynccontextmanager
async def ordered_worker(
    settings: Settings, consumer: EventConsumer, recorder: StepRecorder
) -> AsyncIterator[Service]:
    """``recorder`` subscribed as ``consumer``, its DLQ archived, the releaser running."""
    service = build_service(settings)
    router = service.transport.router()
    service.event_subscriber(router, consumer)(recorder)
    service.archive_dead_letters(router, consumer)
    service.transport.broker.include_router(router)  # type: ignore[arg-type]
    await service.transport.broker.start()
    stop = asyncio.Event()
    releaser = asyncio.create_task(service.releaser().run(stop))
    try:
        yield service
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await releaser
        await service.transport.broker.stop()
        await service.close()


async def publish_steps(
    service: Service, steps: list[tuple[str, int]], tenant_id: UUID | None = None
) -> None:
    """Publish ``(key, version)`` events to :data:`THINGS`, in the order given."""
    tenant = tenant_id or uuid4()
    for key, version in steps:
        envelope = Envelope.new(
            type="tests.ThingChanged.v1", source="/tests", tenant_id=tenant, subject=key
        )
        message = OutgoingMessage(
            body=f'{{"version": {version}}}'.encode(),
            key=key,
            headers=envelope.headers(service.transport.style),
            content_type=envelope.content_type,
            message_id=str(envelope.id),
        )
        await service.transport.publish_events([(THINGS.name, message)])


async def letters_of(
    console: DeadLetterConsole, consumer: EventConsumer, *, count: int, timeout: float = 60.0
) -> list[DeadLetter]:
    """The first ``count`` archived dead letters of ``consumer`` (waits for them)."""
    where = DeadLetterFilter(consumer=consumer.consumer)
    deadline = time.monotonic() + timeout
    while len(letters := await console.find(where)) < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"{len(letters)} of {count} dead letters archived in time")
        await asyncio.sleep(0.1)
    return letters


def console_for(settings: Settings, consumer: EventConsumer) -> DeadLetterConsole:
    """The operators' console over ``consumer``'s dead letters."""
    engine = create_engine(settings.database.migration_url.get_secret_value(), pool_size=2)
    return DeadLetterConsole(engine, build_transport(settings), channels=[consumer])


async def until(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)
