"""One failure-policy contract, four transports: RabbitMQ and Kafka, real and in memory.

The same assertions run against FastStream's in-memory test brokers (a fast, service-free
signal while developing) and against the real brokers: immediate retries, delayed
redelivery through the consumer's retry channel, dead letters and ``skipped`` messages
with their ``x-fault-*`` headers, the original body and headers untouched, and every
routed message acknowledged. See ``tests/support/policy_bench.py`` for what the bench
plays for the in-memory brokers.
"""

from collections import defaultdict
from typing import Annotated, Any
from uuid import uuid4

import pytest
from faststream import Context, StreamMessage
from faststream.message import AckStatus

from commerce.identity.messages.commands import ChangeProfile, RegisterUser
from commerce.platform.messaging.channels import (
    CommandChannel,
    EventConsumer,
    EventStream,
    RetryPolicy,
)
from commerce.platform.messaging.envelope import Envelope, HeaderStyle, message_type_of
from commerce.platform.messaging.transport import OutgoingMessage
from tests.support.brokers import Received
from tests.support.policy_bench import policy_bench, until

pytestmark = pytest.mark.contract


class Poisoned(Exception):
    """A failure the test channel declares permanent."""


FLAKY = CommandChannel(
    name="tests.policy-contract",
    description="A command whose handler fails as the test says.",
    retry=RetryPolicy(
        immediate=1, rounds=1, initial_delay=0.2, max_delay=0.2, jitter=0, permanent=(Poisoned,)
    ),
)

GADGETS = EventStream(
    name="tests.policy-contract.gadgets",
    aggregate_type="tests.gadget",
    description="Test events of gadgets.",
)
GADGET_WATCHER = EventConsumer(
    name="tests.policy-contract.gadget-watcher",
    stream=GADGETS,
    description="Handles GadgetMade events only.",
    retry=RetryPolicy(immediate=0, rounds=1, initial_delay=0.2, max_delay=0.2),
)
GADGET_MADE = "tests.GadgetMade.v1"

type Message = Annotated[StreamMessage[Any], Context("message")]


def _transport(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    kind = str(request.param)
    if kind == "rabbit":
        return kind, str(request.getfixturevalue("rabbit_url"))
    if kind == "kafka":
        return kind, f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
    return kind, None


@pytest.fixture(
    params=[
        "rabbit-memory",
        "kafka-memory",
        pytest.param("rabbit", marks=pytest.mark.integration),
        pytest.param("kafka", marks=pytest.mark.integration),
    ]
)
def transport(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """``(transport, broker URL)``: in memory (no URL) or a real broker."""
    return _transport(request)


@pytest.fixture(
    params=[
        # TestRabbitBroker does not route through the headers exchange in front of an
        # ordered consumer's partition queues, so in memory only Kafka plays this part.
        "kafka-memory",
        pytest.param("rabbit", marks=pytest.mark.integration),
        pytest.param("kafka", marks=pytest.mark.integration),
    ]
)
def event_transport(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    """``(transport, broker URL)`` for an ordered event consumer."""
    return _transport(request)


class ScriptedHandler:
    """Fails each e-mail's first ``failures[email]`` attempts; ``poisoned`` e-mails always
    fail permanently. Records every delivery's message."""

    def __init__(
        self, failures: dict[str, int] | None = None, poisoned: frozenset[str] = frozenset()
    ) -> None:
        self.failures = failures or {}
        self.poisoned = poisoned
        self.deliveries: dict[str, list[StreamMessage[Any]]] = defaultdict(list)
        self.succeeded: set[str] = set()

    async def __call__(self, body: RegisterUser, message: Message) -> None:
        attempts = self.deliveries[body.email]
        attempts.append(message)
        if body.email in self.poisoned:
            raise Poisoned(f"{body.email} can never be handled")
        if len(attempts) <= self.failures.get(body.email, 0):
            raise ConnectionError(f"flaky dependency, attempt {len(attempts)}")
        self.succeeded.add(body.email)

    def all_settled(self) -> bool:
        """Whether every delivery was acknowledged or nacked by now."""
        return all(m.committed for messages in self.deliveries.values() for m in messages)


def _command(
    style: HeaderStyle, email: str, *, type: str = RegisterUser.message_type
) -> OutgoingMessage:
    envelope = Envelope.new(type=type, source="/tests", tenant_id=uuid4(), subject="k")
    body = RegisterUser(
        user_id=uuid4(), email=email, display_name="P", password="correct horse battery"
    ).wire_body()
    return OutgoingMessage(body=body, key="k", headers=envelope.headers(style))


def _event(style: HeaderStyle, type: str, *, subject: str | None) -> OutgoingMessage:
    envelope = Envelope.new(type=type, source="/tests", tenant_id=uuid4(), subject=subject)
    body = f'{{"gadget": "{uuid4()}"}}'.encode()
    return OutgoingMessage(body=body, key="gadgets", headers=envelope.headers(style))


def _assert_untouched(sent: OutgoingMessage, body: bytes, headers: dict[str, str]) -> None:
    assert body == sent.body, "the body travels byte for byte"
    assert dict(sent.headers).items() <= headers.items(), "every original header travels as is"


def _assert_faulted(letter: Received, channel: str, consumer: str, reason: str) -> None:
    assert letter.headers["x-fault-reason"] == reason
    assert letter.headers["x-fault-consumer"] == consumer
    assert letter.headers["x-fault-channel"] == channel
    for name in ("exception-type", "message", "stack", "first-failure-at", "last-failure-at"):
        assert letter.headers[f"x-fault-{name}"], name


async def test_failures_retry_at_once_then_through_the_retry_channel_then_dead_letter(
    transport: tuple[str, str | None],
) -> None:
    handler = ScriptedHandler(
        failures={"once@example.com": 1, "round@example.com": 2, "always@example.com": 99},
        poisoned=frozenset({"poison@example.com"}),
    )
    async with policy_bench(*transport, commands={FLAKY: handler}) as bench:
        emails = (
            "once@example.com",
            "round@example.com",
            "always@example.com",
            "poison@example.com",
        )
        sent = {email: _command(bench.style, email) for email in emails}
        for message in sent.values():
            await bench.send_command(FLAKY, message)
        await until(lambda: {"once@example.com", "round@example.com"} <= handler.succeeded)
        letters = await bench.set_aside(FLAKY.dead_letters, 2)
        await until(handler.all_settled)

    attempts = {email: len(handler.deliveries[email]) for email in emails}
    assert attempts == {
        "once@example.com": 2,  # the immediate retry passed
        "round@example.com": 3,  # first delivery's two attempts, then round 1
        "always@example.com": 4,  # two attempts per delivery, one round, then the DLQ
        "poison@example.com": 1,  # permanent: no retry at all
    }
    redelivered = handler.deliveries["round@example.com"][2]
    assert redelivered.headers["x-retry-round"] == "1"
    assert redelivered.headers["x-fault-reason"] == "handler-error"
    assert redelivered.headers["x-fault-attempts"] == "2"
    assert redelivered.headers["x-retry-not-before-ms"].isdigit()
    _assert_untouched(sent["round@example.com"], redelivered.body, redelivered.headers)

    by_reason = {letter.headers["x-fault-reason"]: letter for letter in letters}
    assert set(by_reason) == {"handler-error", "retries-exhausted"}
    poisoned, exhausted = by_reason["handler-error"], by_reason["retries-exhausted"]
    _assert_faulted(poisoned, FLAKY.name, FLAKY.consumer, "handler-error")
    _assert_untouched(sent["poison@example.com"], poisoned.body, poisoned.headers)
    assert poisoned.headers["x-fault-exception-type"].endswith(".Poisoned")
    assert poisoned.headers["x-fault-attempts"] == "1"
    assert "x-retry-round" not in poisoned.headers
    _assert_faulted(exhausted, FLAKY.name, FLAKY.consumer, "retries-exhausted")
    _assert_untouched(sent["always@example.com"], exhausted.body, exhausted.headers)
    assert exhausted.headers["x-fault-exception-type"] == "builtins.ConnectionError"
    assert exhausted.headers["x-fault-attempts"] == "4"
    assert exhausted.headers["x-retry-round"] == "1"

    statuses = {m.committed for messages in handler.deliveries.values() for m in messages}
    assert statuses == {AckStatus.ACKED}, "a routed failure is acknowledged, never redelivered"


async def test_a_message_of_another_type_on_a_command_channel_is_skipped_untouched(
    transport: tuple[str, str | None],
) -> None:
    handler = ScriptedHandler()
    async with policy_bench(*transport, commands={FLAKY: handler}) as bench:
        # A RegisterUser body under another command's type would parse: only the type check
        # keeps it from being handled as a registration.
        foreign = _command(bench.style, "foreign@example.com", type=ChangeProfile.message_type)
        future = _command(
            bench.style, "future@example.com", type="commerce.identity.RegisterUser.v9"
        )
        valid = _command(bench.style, "valid@example.com")
        for message in (foreign, future, valid):
            await bench.send_command(FLAKY, message)
        await until(lambda: "valid@example.com" in handler.succeeded)
        skipped = await bench.set_aside(FLAKY.skipped, 2)
        await until(handler.all_settled)

    assert set(handler.deliveries) == {"valid@example.com"}, "the consumer went on"
    assert handler.deliveries["valid@example.com"][0].committed is AckStatus.ACKED
    assert len(skipped) == 2
    by_type = {message_type_of(letter.headers): letter for letter in skipped}
    assert set(by_type) == {ChangeProfile.message_type, "commerce.identity.RegisterUser.v9"}
    for sent in (foreign, future):
        letter = by_type[message_type_of(sent.headers)]
        _assert_faulted(letter, FLAKY.name, FLAKY.consumer, "no-handler")
        _assert_untouched(sent, letter.body, letter.headers)
        assert (
            letter.headers["x-fault-exception-type"] == "faststream.exceptions.SubscriberNotFound"
        )
        assert letter.headers["x-fault-attempts"] == "1"


class GadgetHandler:
    """Handles ``GadgetMade`` events only; records their bodies."""

    def __init__(self) -> None:
        self.handled: list[bytes] = []

    async def __call__(self, body: dict[str, Any], message: Message) -> None:
        self.handled.append(bytes(message.body))

    def subscribe(self, subscribe: Any) -> None:
        """Subscribe to what ``Service.event_subscriber`` returned, for ``GadgetMade`` only."""

        async def made(message: StreamMessage[Any]) -> bool:
            return message_type_of(message.headers) == GADGET_MADE

        subscribe(self, filter=made)


async def test_an_event_type_without_a_handler_is_skipped_and_the_consumer_goes_on(
    event_transport: tuple[str, str | None],
) -> None:
    handler = GadgetHandler()
    async with policy_bench(*event_transport, events={GADGET_WATCHER: handler.subscribe}) as bench:
        unknown = _event(bench.style, "tests.GadgetMelted.v1", subject=str(uuid4()))
        # No subject: nothing to order by, so the sequence gate lets it through without
        # asking the database (the bench runs no Postgres).
        known = _event(bench.style, GADGET_MADE, subject=None)
        await bench.send_event(GADGET_WATCHER, unknown)
        await bench.send_event(GADGET_WATCHER, known)
        await until(lambda: bool(handler.handled))
        [skipped] = await bench.set_aside(GADGET_WATCHER.skipped, 1)

    assert handler.handled == [known.body], "the consumer went on"
    _assert_faulted(skipped, GADGETS.name, GADGET_WATCHER.consumer, "no-handler")
    _assert_untouched(unknown, skipped.body, skipped.headers)
