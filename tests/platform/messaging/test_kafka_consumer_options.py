"""Every Kafka subscriber the transport declares gets the configured group timings and
fetch wait (``COMMERCE_BROKER__KAFKA_*``): a subscriber left on aiokafka's defaults would
heartbeat and poll on its own schedule, which operators could not tune."""

from typing import Any

import pytest
from faststream.kafka import KafkaRouter

from commerce.platform.messaging.channels import CommandChannel, EventConsumer
from commerce.platform.messaging.kafka import KafkaTransport
from commerce.registry.channels import CONSUMERS

pytestmark = pytest.mark.unit


class RecordingRouter(KafkaRouter):
    """A Kafka router remembering the options of each subscriber declared on it."""

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict[str, Any]] = []

    def subscriber(self, *topics: Any, **options: Any) -> Any:
        self.options.append(options)
        return super().subscriber(*topics, **options)


def test_every_subscriber_uses_the_configured_heartbeat_session_and_fetch_wait() -> None:
    transport = KafkaTransport(
        "127.0.0.1:9092",
        session_timeout_ms=7_000,
        heartbeat_interval_ms=700,
        fetch_max_wait_ms=1_234,
        command_members=2,
    )
    router = RecordingRouter()
    command = next(c for c in CONSUMERS if isinstance(c, CommandChannel))
    event = next(c for c in CONSUMERS if isinstance(c, EventConsumer))

    transport.command_subscriber(router, command)(lambda body: None)
    transport.event_subscriber(router, event)(lambda body: None)
    transport.channel_subscriber(router, command.dead_letters, "archiver")(lambda body: None)

    assert len(router.options) >= 3
    for options in router.options:
        assert options["session_timeout_ms"] == 7_000
        assert options["heartbeat_interval_ms"] == 700
        assert options["fetch_max_wait_ms"] == 1_234
