"""Counting a batch at once, and FastStream's consume metrics kept off the hot channels."""

from types import SimpleNamespace

import pytest

from commerce.platform.messaging.channels import COMMAND_EXCHANGE, dead_letter_channel
from commerce.platform.observability import metrics
from commerce.platform.observability.metrics_broker import is_hot
from tests.support.exposed_metrics import samples

pytestmark = pytest.mark.unit


def test_outcomes_counted_together_move_the_series_by_their_counts() -> None:
    consumer = "test.batch-consumer"
    metrics.count_outcomes(consumer, {"applied": 5, "duplicate": 2, "rejected": 0})
    metrics.count_outcomes(consumer, {"applied": 1})
    text = metrics.exposition()[0].decode()
    processed = "commerce_commands_processed_total"
    assert samples(text, processed, consumer=consumer, outcome="applied") == [6.0]
    assert samples(text, processed, consumer=consumer, outcome="duplicate") == [2.0]
    assert samples(text, processed, consumer=consumer, outcome="rejected") == []
    assert samples(text, "commerce_inbox_duplicates_total", consumer=consumer) == [2.0]


@pytest.mark.parametrize(
    ("raw", "hot"),
    [
        (SimpleNamespace(exchange=COMMAND_EXCHANGE, routing_key="identity.register-user"), True),
        (SimpleNamespace(exchange="identity.users", routing_key="a-user-id"), True),
        (SimpleNamespace(exchange="", routing_key=dead_letter_channel("c")), False),
        (SimpleNamespace(topic="identity.register-user"), True),
        (SimpleNamespace(topic="ns.identity.users"), True),
        (SimpleNamespace(topic=dead_letter_channel("c")), False),
        (SimpleNamespace(topic="c.skipped"), False),
        (SimpleNamespace(topic="c.retry.2"), False),
        ((SimpleNamespace(topic="identity.users"), SimpleNamespace(topic="identity.users")), True),
        ((), False),
    ],
)
def test_commands_and_events_are_hot_and_what_is_set_aside_or_retried_is_not(
    raw: object, hot: bool
) -> None:
    assert is_hot(raw) is hot
