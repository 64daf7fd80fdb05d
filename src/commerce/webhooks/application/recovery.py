"""Resending: one message, or every failed message of an endpoint in a window (recover).

Recover follows Svix's bounds: a window of at most 14 days and at most 10,000 messages,
read and resent in batches of 100 (keyset pages, so a long recovery holds no transaction),
reporting progress after each batch. Each message gets a fresh schedule and one attempt
now; those that fail again carry on through the broker like any delivery.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from commerce.platform.kit.errors import InvalidValue, NotFound
from commerce.platform.kit.ids import TenantId
from commerce.webhooks.application.delivery import DeliveryOutcome, Webhooks, deliver
from commerce.webhooks.application.ports import DeliveryRequest
from commerce.webhooks.domain.outcomes import Verdict

__all__ = ["MAX_MESSAGES", "MAX_WINDOW", "RecoveryProgress", "recover", "resend"]

MAX_WINDOW = timedelta(days=14)
MAX_MESSAGES = 10_000
BATCH = 100


@dataclass(frozen=True, slots=True)
class RecoveryProgress:
    """After a batch: messages resent so far, and how many of them were delivered."""

    resent: int
    delivered: int


async def resend(
    webhooks: Webhooks, tenant_id: TenantId, endpoint_id: UUID, event_id: str
) -> DeliveryOutcome:
    """Resend one message now, whatever its state, with the same ``webhook-id``."""
    probe = DeliveryRequest(tenant_id, endpoint_id, event_id, "", b"")
    request = await webhooks.store.reopen(probe)
    if request is None:
        raise NotFound(f"no webhook message {event_id} for endpoint {endpoint_id}")
    return await deliver(request, webhooks)


async def recover(
    webhooks: Webhooks, tenant_id: TenantId, endpoint_id: UUID, since: datetime
) -> AsyncIterator[RecoveryProgress]:
    """Resend the endpoint's failed messages created since ``since``, batch by batch."""
    if webhooks.clock.now() - since > MAX_WINDOW:
        raise InvalidValue("a recovery window is at most 14 days")
    resent = delivered = 0
    after = ""
    while resent < MAX_MESSAGES:
        limit = min(BATCH, MAX_MESSAGES - resent)
        page = await webhooks.store.failed_since(tenant_id, endpoint_id, since, after, limit)
        if not page:
            return
        for request in page:
            reopened = await webhooks.store.reopen(request)
            if reopened is not None:
                outcome = await deliver(reopened, webhooks)
                delivered += outcome.decision.verdict is Verdict.DELIVERED
        resent += len(page)
        after = page[-1].event_id
        yield RecoveryProgress(resent, delivered)
