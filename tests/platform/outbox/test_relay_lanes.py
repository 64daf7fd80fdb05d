"""Relay replicas share the outbox's lanes fairly, exclusively, and take over a dead one's."""

import pytest

from commerce.platform.outbox.relay_lanes import LANES, LaneLease
from tests.support.database import ProvisionedDatabase

pytestmark = pytest.mark.integration


async def _settle(leases: list[LaneLease]) -> list[frozenset[int]]:
    """Rebalance until stable: every replica refreshes twice (release, then take)."""
    for _ in range(2):
        for lease in leases:
            await lease.refresh()
    return [lease.held for lease in leases]


def _assert_partition(held: list[frozenset[int]]) -> None:
    assert frozenset().union(*held) == frozenset(range(LANES)), "every lane has a replica"
    assert sum(len(lanes) for lanes in held) == LANES, "no lane has two replicas"


async def test_replicas_split_the_lanes_evenly_and_exclusively(
    provisioned_database: ProvisionedDatabase,
) -> None:
    leases = [LaneLease(provisioned_database.relay_url) for _ in range(3)]
    try:
        held = await _settle(leases)
        _assert_partition(held)
        assert sorted(len(lanes) for lanes in held) == [21, 21, 22]
    finally:
        for lease in leases:
            await lease.close()


async def test_a_replica_that_goes_away_leaves_its_lanes_to_the_others(
    provisioned_database: ProvisionedDatabase,
) -> None:
    first, second = (LaneLease(provisioned_database.relay_url) for _ in range(2))
    try:
        assert await first.refresh() == frozenset(range(LANES)), "alone, it takes every lane"
        assert await second.refresh() == frozenset(), "its share is still held by the first"
        _assert_partition(await _settle([first, second]))
        assert len(first.held) == len(second.held) == LANES // 2
        await first.close()  # a crash ends the session the same way
        assert first.held == frozenset()
        assert await second.refresh() == frozenset(range(LANES))
    finally:
        await first.close()
        await second.close()
