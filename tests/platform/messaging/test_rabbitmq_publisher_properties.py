"""The partition an event is routed by on RabbitMQ is decided by its publisher, from the
aggregate id alone (docs/adr/0012): every event of an aggregate carries the same one, in
range, whatever else the headers hold, in any process."""

import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commerce.platform.messaging.rabbitmq_publisher import (
    PARTITION_HEADER,
    partition_of,
    with_partition,
)

pytestmark = pytest.mark.property

aggregate_ids = st.one_of(st.uuids().map(str), st.text(max_size=64))
partition_counts = st.integers(min_value=1, max_value=256)
headers = st.dictionaries(
    st.text(min_size=1, max_size=20).filter(lambda name: name != PARTITION_HEADER),
    st.text(max_size=20),
    max_size=5,
)


@given(aggregate_ids, partition_counts, headers, headers)
def test_every_event_of_an_aggregate_carries_the_same_partition_in_range(
    key: str, partitions: int, first: dict[str, str], second: dict[str, str]
) -> None:
    one = with_partition(first, key, partitions)
    other = with_partition(second, key, partitions)

    assert one[PARTITION_HEADER] == other[PARTITION_HEADER]
    assert 0 <= int(one[PARTITION_HEADER]) < partitions
    assert {name: value for name, value in one.items() if name != PARTITION_HEADER} == first


@settings(max_examples=5, deadline=None)
@given(st.lists(st.uuids().map(str), min_size=1, max_size=20))
def test_the_partition_is_the_same_in_another_process(keys: list[str]) -> None:
    """No per-process seed (as ``hash()`` of a string has): a relay and a releaser in two
    processes, or one before and after a restart, route an aggregate alike."""
    here = [partition_of(key, 4) for key in keys]
    code = (
        "import sys; from commerce.platform.messaging.rabbitmq_publisher import partition_of; "
        "print(' '.join(str(partition_of(k, 4)) for k in sys.argv[1:]))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code, *keys], check=True, capture_output=True, text=True
    ).stdout.split()
    assert [int(p) for p in there] == here
