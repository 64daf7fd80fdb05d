"""Ordered event consumers: one aggregate's events in order, aggregates in parallel, and a
failed event holding its aggregate's later events until it is resolved (sequenced DLQ).

The same tests on RabbitMQ (partition queues chosen by the publisher) and Kafka (partitions).
"""

import pytest

from commerce.platform.delivery.sequence_gate import sequence_of
from tests.support.database import ProvisionedDatabase
from tests.support.ordered import (
    StepRecorder,
    console_for,
    letters_of,
    ordered_consumer,
    ordered_worker,
    publish_steps,
    until,
)
from tests.support.worker import settings_for

pytestmark = pytest.mark.integration

AGGREGATES = [f"thing-{n:02d}" for n in range(12)]
VERSIONS = range(1, 6)


async def test_each_aggregate_in_version_order_while_aggregates_run_concurrently(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    consumer = ordered_consumer()
    recorder = StepRecorder(work_seconds=0.02)
    steps = [(key, version) for version in VERSIONS for key in AGGREGATES]
    async with ordered_worker(settings, consumer, recorder) as service:
        await publish_steps(service, steps)
        await until(lambda: sum(map(len, recorder.handled.values())) == len(steps))

    assert {key: recorder.handled[key] for key in AGGREGATES} == {
        key: list(VERSIONS) for key in AGGREGATES
    }
    assert recorder.max_in_flight_per_key == 1, "never two events of one aggregate at once"
    assert recorder.max_in_flight > 1, "events of different aggregates ran concurrently"


async def test_a_dead_lettered_event_parks_its_aggregates_later_events_until_replayed(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    consumer = ordered_consumer()
    recorder = StepRecorder()
    recorder.poison = {("held", 2)}
    steps = [(key, version) for version in range(1, 5) for key in ("held", "free")]
    async with (
        ordered_worker(settings, consumer, recorder) as service,
        console_for(settings, consumer) as console,
    ):
        await publish_steps(service, steps)
        await until(lambda: recorder.handled["free"] == [1, 2, 3, 4])
        [letter] = await letters_of(console, consumer, count=1)
        assert letter.headers["x-fault-reason"] == "handler-error"
        assert recorder.handled["held"] == [1], "v3 and v4 wait behind the dead-lettered v2"

        recorder.poison.clear()  # the operator fixed the cause
        await console.replay(letter.id)
        await until(lambda: recorder.handled["held"] == [1, 2, 3, 4])

        await publish_steps(service, [("held", 5)])  # the hold is gone: no more parking
        await until(lambda: recorder.handled["held"] == [1, 2, 3, 4, 5])


async def test_a_transiently_failing_event_holds_its_aggregate_through_the_delayed_retry(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    consumer = ordered_consumer()
    recorder = StepRecorder()
    recorder.flaky = {("slow", 2): 2}  # fails its first delivery (and its immediate retry)
    steps = [(key, version) for version in range(1, 5) for key in ("slow", "fast")]
    async with ordered_worker(settings, consumer, recorder) as service:
        await publish_steps(service, steps)
        await until(lambda: recorder.handled["slow"] == [1, 2, 3, 4])

    assert recorder.handled["fast"] == [1, 2, 3, 4]
    assert recorder.attempts["slow", 2] == 3, "first delivery, immediate retry, round 1"
    assert recorder.finished_at["fast", 4] < recorder.finished_at["slow", 2], (
        "the other aggregate did not wait for the retry"
    )


async def test_purging_the_held_event_releases_the_later_ones_and_editing_replaces_it(
    provisioned_database: ProvisionedDatabase, broker_url: str
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    consumer = ordered_consumer()
    recorder = StepRecorder()
    recorder.poison = {("purged", 2), ("edited", 2)}
    steps = [(key, version) for version in range(1, 4) for key in ("purged", "edited")]
    async with (
        ordered_worker(settings, consumer, recorder) as service,
        console_for(settings, consumer) as console,
    ):
        await publish_steps(service, steps)
        letters = await letters_of(console, consumer, count=2)
        assert recorder.handled == {"purged": [1], "edited": [1]}
        by_subject = {sequence_of(letter.headers): letter for letter in letters}
        purged, edited = (
            next(letter for seq, letter in by_subject.items() if seq and seq.key == key)
            for key in ("purged", "edited")
        )
        await console.purge([purged.id])
        await until(lambda: recorder.handled["purged"] == [1, 3])

        recorder.poison.clear()
        await console.edit(edited.id, b'{"version": 2}')
        await until(lambda: recorder.handled["edited"] == [1, 2, 3])
