"""Property: the lane assignment partitions the outbox's lanes among any number of replicas."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.outbox.relay_lanes import LANES, lane_of

pytestmark = pytest.mark.property


@given(st.integers(min_value=1, max_value=LANES * 2))
def test_every_lane_belongs_to_exactly_one_replica_whatever_their_number(members: int) -> None:
    """Property: for n replicas, the ranks' lanes are disjoint, cover all lanes, and differ
    in size by at most one (a fair share)."""
    shares = [lane_of(rank, members) for rank in range(members)]
    assert sum(len(share) for share in shares) == LANES
    assert frozenset().union(*shares) == frozenset(range(LANES))
    sizes = [len(share) for share in shares]
    assert max(sizes) - min(sizes) <= 1
