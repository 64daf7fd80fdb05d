"""Commands within their limits run; over them, they are deferred or rejected per channel."""

from uuid import uuid4

import pytest

from commerce.platform.delivery.deferral import DeliveryDeferred
from commerce.platform.kit.errors import RateLimited
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.channels import CommandChannel, RetryPolicy
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.observability.metrics_registry import REGISTRY
from commerce.platform.resilience.command_admission import (
    ChannelLimits,
    CommandAdmission,
    RateLimitPolicy,
)
from commerce.platform.resilience.rate_limit import InMemoryRateLimiter, Limit
from commerce.platform.transactions.processing import Outcome, process_command
from tests.support.commands import context_for
from tests.support.fakes import InMemoryUnitOfWork, InMemoryUnitOfWorkFactory, ManualClock

pytestmark = pytest.mark.unit

DEFERRING = CommandChannel("tests.deferring", "Deferred over its limit.")
REJECTING = CommandChannel("tests.rejecting", "Rejected over its limit.")
NO_ROUNDS = CommandChannel("tests.no-rounds", "No delay queue.", retry=RetryPolicy(rounds=0))
ONE_AT_A_TIME = Limit(rate=1, burst=1)
PLENTY = Limit(rate=1000, burst=1000)


def admission(clock: ManualClock, *, sender: Limit = PLENTY) -> CommandAdmission:
    policy = RateLimitPolicy(
        default=ChannelLimits(tenant=ONE_AT_A_TIME, sender=sender, action="defer"),
        channels={
            REJECTING.name: ChannelLimits(tenant=ONE_AT_A_TIME, sender=sender, action="reject")
        },
        min_defer_seconds=0.5,
        defer_spread=0.5,
    )
    return CommandAdmission(
        InMemoryRateLimiter(clock=clock), policy, prefix="tests:ns", unit_random=lambda: 1.0
    )


def envelope(tenant: object = None, source: str = "tests/sender") -> Envelope:
    return Envelope.new(type="tests.Command.v1", source=source, tenant_id=tenant or uuid4())


async def handler(_: InMemoryUnitOfWork) -> None:
    """The use case (never run here)."""


def limited(channel: str, scope: str, action: str) -> float:
    labels = {"channel": channel, "scope": scope, "action": action}
    return REGISTRY.get_sample_value("commerce_rate_limited_total", labels) or 0.0


async def test_a_command_within_its_limits_runs_its_own_handler() -> None:
    assert (
        await admission(ManualClock(1_765_000_000.0)).admit(DEFERRING, envelope(), handler)
        is handler
    )


async def test_over_the_limit_a_deferring_channel_hands_the_command_back_for_later() -> None:
    gate, tenant = admission(ManualClock(1_765_000_000.0)), uuid4()
    await gate.admit(DEFERRING, envelope(tenant), handler)
    before = limited(DEFERRING.name, "tenant", "deferred")
    with pytest.raises(DeliveryDeferred) as deferred:
        await gate.admit(DEFERRING, envelope(tenant), handler)
    # its slot, one second on (one per second), is reserved: deferred exactly to it
    assert deferred.value.delay == pytest.approx(1.0)
    assert deferred.value.reason == "rate-limit"
    assert limited(DEFERRING.name, "tenant", "deferred") == before + 1


async def test_a_deferred_command_is_admitted_once_on_its_reservation_when_it_comes_back() -> None:
    clock = ManualClock(1_765_000_000.0)
    gate, tenant = admission(clock), uuid4()
    await gate.admit(DEFERRING, envelope(tenant), handler)
    deferred_command = envelope(tenant)
    with pytest.raises(DeliveryDeferred) as first:
        await gate.admit(DEFERRING, deferred_command, handler)
    # the reserved slot is taken: another command of the tenant waits for the next one
    with pytest.raises(DeliveryDeferred) as second:
        await gate.admit(DEFERRING, envelope(tenant), handler)
    assert (first.value.delay, second.value.delay) == (pytest.approx(1.0), pytest.approx(2.0))
    clock.now += first.value.delay
    assert await gate.admit(DEFERRING, deferred_command, handler) is handler
    # a second copy of the same message finds no reservation left: it waits like any other
    with pytest.raises(DeliveryDeferred):
        await gate.admit(DEFERRING, deferred_command, handler)


async def test_a_slot_beyond_the_longest_delay_is_not_reserved_and_waits_the_minimum() -> None:
    tenant = uuid4()
    short = CommandChannel(
        "tests.short", "Delays of a second.", retry=RetryPolicy(initial_delay=1, max_delay=1)
    )
    gate = CommandAdmission(
        InMemoryRateLimiter(clock=ManualClock(1_765_000_000.0)),
        RateLimitPolicy(
            default=ChannelLimits(tenant=Limit(0.25, 1), sender=PLENTY), min_defer_seconds=0.5
        ),
        prefix="tests:ns",
        unit_random=lambda: 1.0,
    )
    await gate.admit(short, envelope(tenant), handler)
    with pytest.raises(DeliveryDeferred) as deferred:
        await gate.admit(short, envelope(tenant), handler)
    # its slot is 4 s away, past the channel's 1 s: not reserved, spread by half again
    assert deferred.value.delay == pytest.approx(6.0)
    # nothing was counted: the slot 4 s away is still free for the next command
    with pytest.raises(DeliveryDeferred) as again:
        await gate.admit(short, envelope(tenant), handler)
    assert again.value.delay == pytest.approx(6.0)


async def test_a_deferral_without_a_reservation_is_never_sooner_than_the_minimum() -> None:
    tenant = uuid4()
    fast = CommandChannel(
        "tests.fast", "Ten a second.", retry=RetryPolicy(initial_delay=0.01, max_delay=0.01)
    )
    gate = CommandAdmission(
        InMemoryRateLimiter(clock=ManualClock(1_765_000_000.0)),
        RateLimitPolicy(
            default=ChannelLimits(tenant=Limit(10, 1), sender=PLENTY), min_defer_seconds=0.5
        ),
        prefix="tests:ns",
        unit_random=lambda: 0.0,
    )
    await gate.admit(fast, envelope(tenant), handler)
    with pytest.raises(DeliveryDeferred) as deferred:
        await gate.admit(fast, envelope(tenant), handler)
    assert deferred.value.delay == pytest.approx(0.5)


async def test_over_the_limit_a_rejecting_channel_rejects_once_with_a_retry_after() -> None:
    gate, tenant = admission(ManualClock(1_765_000_000.0)), uuid4()
    await gate.admit(REJECTING, envelope(tenant), handler)
    refusing = await gate.admit(REJECTING, envelope(tenant), handler)
    factory = InMemoryUnitOfWorkFactory()
    context = context_for(TenantId(tenant))
    for expected in (Outcome.REJECTED, Outcome.DUPLICATE):
        outcome = await process_command(
            consumer=REJECTING.consumer,
            context=context,
            aggregate_id="a",
            handler=refusing,
            open_unit_of_work=factory,
        )
        assert outcome is expected
    [rejection] = factory.store.rejections
    assert rejection.reason_code == RateLimited.code == "rate-limited"
    assert rejection.retry_after_seconds == pytest.approx(1.0)


async def test_a_channel_without_a_delay_queue_rejects_instead_of_deferring() -> None:
    gate, tenant = admission(ManualClock(1_765_000_000.0)), uuid4()
    await gate.admit(NO_ROUNDS, envelope(tenant), handler)
    refusing = await gate.admit(NO_ROUNDS, envelope(tenant), handler)
    with pytest.raises(RateLimited):
        await refusing(InMemoryUnitOfWorkFactory()(context_for(TenantId(tenant))))


async def test_one_tenants_burst_leaves_another_tenant_alone() -> None:
    gate, noisy = admission(ManualClock(1_765_000_000.0)), uuid4()
    await gate.admit(DEFERRING, envelope(noisy), handler)
    for _ in range(3):
        with pytest.raises(DeliveryDeferred):
            await gate.admit(DEFERRING, envelope(noisy), handler)
    assert await gate.admit(DEFERRING, envelope(), handler) is handler


async def test_each_channel_counts_apart() -> None:
    gate, tenant = admission(ManualClock(1_765_000_000.0)), uuid4()
    await gate.admit(DEFERRING, envelope(tenant), handler)
    assert await gate.admit(REJECTING, envelope(tenant), handler) is handler


async def test_a_sender_over_its_own_limit_is_limited_across_tenants() -> None:
    gate = admission(ManualClock(1_765_000_000.0), sender=Limit(rate=1, burst=2))
    await gate.admit(DEFERRING, envelope(source="tests/noisy"), handler)
    await gate.admit(DEFERRING, envelope(source="tests/noisy"), handler)
    before = limited(DEFERRING.name, "sender", "deferred")
    with pytest.raises(DeliveryDeferred):
        await gate.admit(DEFERRING, envelope(source="tests/noisy"), handler)
    assert limited(DEFERRING.name, "sender", "deferred") == before + 1
    assert await gate.admit(DEFERRING, envelope(source="tests/quiet"), handler) is handler


def test_keys_name_the_environment_channel_tenant_and_sender() -> None:
    tenant = uuid4()
    quotas = admission(ManualClock(1_765_000_000.0)).quotas(
        DEFERRING, envelope(tenant, source="tests/x")
    )
    assert [(quota.key, quota.scope) for quota in quotas] == [
        (f"tests:ns:rate:{{tests.deferring}}:tenant:{tenant}", "tenant"),
        ("tests:ns:rate:{tests.deferring}:sender:tests/x", "sender"),
    ]
