"""Delivering one integration event to one endpoint: sign, send, record, decide.

:func:`deliver` makes at most one HTTP attempt and says what happens next; the caller (the
delivery consumer) hands a :attr:`Verdict.RETRY` back to the broker for the returned delay
(``DeliveryDeferred``), never sleeping. The attempt count is the delivery row's, so a
redelivered or re-run message continues the schedule, and a delivery already made is
never made again (the ``webhook-id`` stays the event id either way). Around the attempt,
the endpoint's circuit breaker and bulkhead keep one dead partner from taking the capacity
of the others: while its breaker is open no attempt is made and none is counted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from uuid import UUID

from commerce.platform.transactions.ports import Clock
from commerce.webhooks.application.ports import (
    DeliveryRequest,
    DeliveryStatus,
    EndpointGuard,
    EndpointPaused,
    RecordedAttempt,
    WebhookSender,
    WebhookStore,
)
from commerce.webhooks.domain.endpoint import DisabledReason, Endpoint
from commerce.webhooks.domain.errors import InvalidWebhookUrl, RefusedAddress
from commerce.webhooks.domain.outcomes import Attempt, Decision, Verdict, decide
from commerce.webhooks.domain.schedule import RetrySchedule
from commerce.webhooks.domain.signing import webhook_headers

__all__ = ["DeliveryOutcome", "DeliveryPolicy", "EndpointUnavailable", "Webhooks", "deliver"]


class EndpointUnavailable(ConnectionError):
    """A failed attempt, raised inside the endpoint's breaker so that it counts there."""

    def __init__(self, endpoint_id: UUID, attempt: Attempt) -> None:
        self.dependency = breaker_name(endpoint_id)
        self.attempt = attempt
        super().__init__(f"{self.dependency}: {attempt.status or attempt.error}")


def breaker_name(endpoint_id: UUID) -> str:
    """The dependency name of an endpoint's circuit breaker."""
    return f"webhook:{endpoint_id}"


@dataclass(frozen=True, slots=True)
class DeliveryPolicy:
    """The rules of delivery: the retry schedule and the auto-disable period."""

    schedule: RetrySchedule = field(default_factory=RetrySchedule)
    disable_after: timedelta = timedelta(hours=120)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one call of :func:`deliver` did: the decision, and the endpoint when it was
    disabled by this call (for the operational event ``WebhookEndpointDisabled``)."""

    decision: Decision
    disabled: Endpoint | None = None


@dataclass
class Webhooks:
    """The collaborators of delivery: store, sender, guard (breaker + bulkhead), clock."""

    store: WebhookStore
    sender: WebhookSender
    guard: EndpointGuard
    clock: Clock
    random: Callable[[], float]
    policy: DeliveryPolicy = field(default_factory=DeliveryPolicy)


CANCELLED = DeliveryOutcome(Decision(Verdict.EXHAUSTED))


async def deliver(request: DeliveryRequest, webhooks: Webhooks) -> DeliveryOutcome:
    """Make the next attempt of ``request`` unless it is done; see the module docs."""
    now = webhooks.clock.now()
    endpoint = await webhooks.store.endpoint(request.tenant_id, request.endpoint_id)
    if endpoint is None or not endpoint.enabled:
        return CANCELLED
    status, attempts = await webhooks.store.open_delivery(request, now)
    if status is DeliveryStatus.DELIVERED:
        return DeliveryOutcome(Decision(Verdict.DELIVERED))
    if status is not DeliveryStatus.PENDING:
        return CANCELLED
    try:
        attempt = await _attempt(endpoint, request, webhooks, now)
    except EndpointPaused as error:  # no attempt made: come back when it may be made
        return DeliveryOutcome(Decision(Verdict.RETRY, max(error.retry_after, 0.1)))
    number = attempts + 1
    decision = decide(attempt, number, webhooks.policy.schedule, webhooks.random)
    return await _settle(
        endpoint, request, webhooks, number=number, attempt=attempt, decision=decision
    )


async def _attempt(
    endpoint: Endpoint,
    request: DeliveryRequest,
    webhooks: Webhooks,
    now: datetime,
) -> Attempt:
    keys = endpoint.signing_keys(now)
    signed = webhook_headers(keys, request.event_id, int(now.timestamp()), request.payload)
    headers = {**endpoint.headers, **signed}
    try:
        async with webhooks.guard.guarded(endpoint.endpoint_id, endpoint.rate_limit):
            try:
                attempt = await webhooks.sender.send(endpoint.url, request.payload, headers)
            except (RefusedAddress, InvalidWebhookUrl) as error:
                attempt = Attempt(None, 0.0, error=f"{error.code}: {error.reason}")
            if attempt.status is None or attempt.status >= 500 or attempt.status == 429:
                raise EndpointUnavailable(endpoint.endpoint_id, attempt)
    except EndpointUnavailable as unavailable:
        return unavailable.attempt
    return attempt


async def _settle(
    endpoint: Endpoint,
    request: DeliveryRequest,
    webhooks: Webhooks,
    *,
    number: int,
    attempt: Attempt,
    decision: Decision,
) -> DeliveryOutcome:
    now = webhooks.clock.now()
    status = {
        Verdict.DELIVERED: DeliveryStatus.DELIVERED,
        Verdict.RETRY: DeliveryStatus.PENDING,
    }.get(decision.verdict, DeliveryStatus.FAILED)
    recorded = RecordedAttempt(number, attempt, decision.verdict.value, now)
    await webhooks.store.record(request, recorded, status)
    match decision.verdict:
        case Verdict.DELIVERED:
            after = endpoint.succeeded()
        case Verdict.GONE:
            after = endpoint.disable(DisabledReason.GONE)
        case Verdict.EXHAUSTED:
            after = endpoint.failed(now, webhooks.policy.disable_after)
        case _:
            after = endpoint
    if after != endpoint:
        await webhooks.store.save_endpoint(after, now)
    disabled = after if endpoint.enabled and not after.enabled else None
    return DeliveryOutcome(decision, disabled)
