"""One integration event to every endpoint of its tenant that subscribes to its type.

What the delivery consumer runs for each event of a stream. Each endpoint's delivery is
its own row, so running the fan-out again for the same event (a redelivery, a deferral, a
worker killed mid-way) delivers only what is not delivered yet, with the same
``webhook-id``. The result says when to come back: the earliest retry among the
endpoints, which the consumer hands to the broker (``DeliveryDeferred``), never sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from commerce.platform.kit.ids import TenantId
from commerce.webhooks.application.delivery import DeliveryOutcome, Webhooks, deliver
from commerce.webhooks.application.ports import DeliveryRequest
from commerce.webhooks.domain.outcomes import Verdict
from commerce.webhooks.domain.payload import webhook_body

__all__ = ["FanOut", "fan_out"]


@dataclass(frozen=True, slots=True)
class FanOut:
    """The outcomes by endpoint id, and the seconds until the earliest retry (if any)."""

    outcomes: Mapping[str, DeliveryOutcome]
    retry_in: float | None


async def fan_out(
    tenant_id: TenantId,
    cloud_event: Mapping[str, Any],
    webhooks: Webhooks,
    *,
    max_payload_bytes: int,
) -> FanOut:
    """Deliver ``cloud_event`` (``id``, ``type``, ...) to the tenant's subscribed endpoints."""
    event_type = str(cloud_event["type"])
    body = webhook_body(cloud_event, max_payload_bytes)
    endpoints = [
        endpoint
        for endpoint in await webhooks.store.endpoints(tenant_id)
        if endpoint.receives(event_type)
    ]
    requests = [
        DeliveryRequest(tenant_id, endpoint.endpoint_id, str(cloud_event["id"]), event_type, body)
        for endpoint in endpoints
    ]
    outcomes = await asyncio.gather(*(deliver(request, webhooks) for request in requests))
    delays = [
        outcome.decision.delay
        for outcome in outcomes
        if outcome.decision.verdict is Verdict.RETRY and outcome.decision.delay is not None
    ]
    by_endpoint = {
        str(request.endpoint_id): outcome
        for request, outcome in zip(requests, outcomes, strict=True)
    }
    return FanOut(by_endpoint, min(delays) if delays else None)
