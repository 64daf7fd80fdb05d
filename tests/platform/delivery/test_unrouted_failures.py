"""A failure the policy cannot send on (broker or database away) is not acked, and says so.

The message then goes back to the broker, which delivers it again; the log line lets an
operator (and the fault-injection drill) tell that path from a delayed retry round.
"""

from typing import Any

import pytest
import structlog
from faststream import ContextRepo

from commerce.platform.delivery.redelivery import failure_policy_middleware
from commerce.platform.messaging.channels import CommandChannel, RetryPolicy
from commerce.platform.messaging.transport import RawMessage

pytestmark = pytest.mark.unit

CHANNEL = CommandChannel(
    name="tests.unrouted",
    description="A command whose retry cannot be sent.",
    retry=RetryPolicy(immediate=0, rounds=2, initial_delay=1.0, jitter=0),
)


class _BrokerAway:
    """A transport whose every send fails as a broker mid-restart would."""

    def raw(self, message: Any) -> RawMessage:
        return RawMessage(
            channel=CHANNEL.name,
            body=b"{}",
            key="k",
            headers={},
            content_type="application/json",
        )

    async def send_for_retry(self, *args: Any) -> None:
        raise ConnectionError("broker connection lost")


async def test_a_retry_that_cannot_be_sent_is_logged_and_left_to_the_broker() -> None:
    transport = _BrokerAway()
    middleware = failure_policy_middleware(channel=CHANNEL, transport=transport)(  # type: ignore[arg-type]
        object(), context=ContextRepo()
    )
    with structlog.testing.capture_logs() as logs, pytest.raises(ConnectionError):
        await middleware.after_processed(TimeoutError, TimeoutError("db slow"), None)
    [line] = [log for log in logs if log["event"].startswith("failure not routed")]
    assert line["target"] == "retry"
    assert line["consumer"] == CHANNEL.consumer
    assert "broker connection lost" in line["error"]
    assert not any(log["event"] == "message redelivery scheduled" for log in logs)
