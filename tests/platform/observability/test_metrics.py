"""The service's metrics: Prometheus names, and an exposition promtool accepts."""

import time

import pytest
from faststream.rabbit import RabbitBroker

from commerce.identity.messages.channels import USER_DIRECTORY
from commerce.platform.observability import metrics
from tests.support.promtool import promtool_check_metrics

pytestmark = pytest.mark.unit

SERVICE_METRICS = (
    "commerce_commands_processed_total",
    "commerce_handler_duration_seconds",
    "commerce_inbox_duplicates_total",
    "commerce_retries_total",
    "commerce_dead_letters_total",
    "commerce_relay_published_messages_total",
    "commerce_relay_last_published_timestamp_seconds",
    "commerce_outbox_backlog_messages",
    "commerce_outbox_oldest_unsent_age_seconds",
    "commerce_projection_lag_seconds",
    "commerce_projection_last_applied_timestamp_seconds",
    "commerce_cache_requests_total",
)


def _sample(text: str, name: str, labels: str = "") -> float:
    prefix = f"{name}{{{labels}}} " if labels else f"{name} "
    [line] = [line for line in text.splitlines() if line.startswith(prefix)]
    return float(line.removeprefix(prefix))


def test_every_metric_is_exposed_with_its_type() -> None:
    metrics.measure_broker(RabbitBroker(), app_name="commerce")
    text = metrics.exposition()[0].decode()
    for name in SERVICE_METRICS:
        kind = "histogram" if name.endswith("_seconds") and "handler" in name else None
        assert f"# HELP {name} " in text, name
        if kind:
            assert f"# TYPE {name} {kind}" in text
    for name in ("faststream_received_messages_total", "faststream_published_messages_total"):
        assert f"# TYPE {name} counter" in text
    assert "process_resident_memory_bytes" in text
    assert "_created" not in text


def test_recording_functions_move_the_right_series() -> None:
    consumer = "test.metrics-consumer"
    before = metrics.exposition()[0].decode()
    assert f'consumer="{consumer}"' not in before
    with metrics.observe_command(consumer) as observed:
        observed.outcome = "applied"
    with metrics.observe_command(consumer) as observed:
        observed.outcome = "duplicate"
    with pytest.raises(RuntimeError), metrics.observe_command(consumer):
        raise RuntimeError("boom")
    metrics.record_retry(consumer, "immediate", TimeoutError("slow"))
    metrics.record_retry(consumer, "delayed", ConnectionResetError("gone"))
    metrics.record_dead_letter(consumer, "retries-exhausted")
    metrics.set_outbox_backlog(7, 12.5)
    text = metrics.exposition()[0].decode()
    for outcome in ("applied", "duplicate", "failed"):
        labels = f'consumer="{consumer}",outcome="{outcome}"'
        assert _sample(text, "commerce_commands_processed_total", labels) == 1
    assert _sample(text, "commerce_inbox_duplicates_total", f'consumer="{consumer}"') == 1
    assert _sample(text, "commerce_handler_duration_seconds_count", f'consumer="{consumer}"') == 3
    labels = f'consumer="{consumer}",kind="immediate",reason="builtins.TimeoutError"'
    assert _sample(text, "commerce_retries_total", labels) == 1
    labels = f'consumer="{consumer}",kind="delayed",reason="builtins.ConnectionResetError"'
    assert _sample(text, "commerce_retries_total", labels) == 1
    labels = f'consumer="{consumer}",reason="retries-exhausted"'
    assert _sample(text, "commerce_dead_letters_total", labels) == 1
    assert _sample(text, "commerce_outbox_backlog_messages") == 7
    assert _sample(text, "commerce_outbox_oldest_unsent_age_seconds") == 12.5


def test_a_stalled_projection_shows_as_events_published_after_its_last_apply() -> None:
    """The lag gauge freezes when a projection stops; the two timestamps do not: the
    relay's keeps moving with each publish while the projection's stays put."""
    stream = USER_DIRECTORY.stream.name
    before = time.time()
    metrics.set_projection_lag(USER_DIRECTORY.consumer, stream, 0.25)
    metrics.record_relay_published(stream, 3)
    after = time.time()
    text = metrics.exposition()[0].decode()
    labels = f'projection="{USER_DIRECTORY.consumer}",stream="{stream}"'
    applied = _sample(text, "commerce_projection_last_applied_timestamp_seconds", labels)
    published = _sample(
        text, "commerce_relay_last_published_timestamp_seconds", f'stream="{stream}"'
    )
    assert before <= applied <= published <= after
    assert (
        _sample(text, "commerce_projection_lag_seconds", f'projection="{USER_DIRECTORY.consumer}"')
        == 0.25
    )


def test_the_exposition_passes_promtool() -> None:
    metrics.measure_broker(RabbitBroker(), app_name="commerce")
    metrics.record_relay_published("test.stream")
    metrics.set_projection_lag("test-projection", "test.stream", 3.0)
    metrics.record_cache_request("test-cache", "hit")
    metrics.record_cache_request("test-cache", "miss")
    metrics.record_retry("test.promtool-consumer", "immediate", TimeoutError())
    metrics.record_dead_letter("test.promtool-consumer", "undecodable")
    body, content_type = metrics.exposition()
    for name in ("commerce_retries_total", "commerce_dead_letters_total"):
        assert f'{name}{{consumer="test.promtool-consumer",' in body.decode(), "labelled samples"
    assert content_type.startswith("text/plain; version=0.0.4")
    assert promtool_check_metrics(body) == ""


def test_rabbit_destinations_never_carry_an_aggregate_id() -> None:
    """Events are routed by aggregate id: one label value per aggregate would grow the
    registry (and ``/metrics``) without bound."""
    from commerce.platform.observability.metrics_broker import rabbit_destination

    assert rabbit_destination("ns.commerce.users", "7f0c-user-id") == "ns.commerce.users"
    assert rabbit_destination("", "ns.dlq") == "default.ns.dlq"
    assert rabbit_destination(None, "ns.dlq") == "default.ns.dlq"
    assert rabbit_destination("ns.commerce.commands", "register-user") == (
        "ns.commerce.commands.register-user"
    )
