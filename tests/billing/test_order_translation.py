"""Billing's reading of the orders context's published events (``order_fact_of``)."""

import json
from uuid import UUID, uuid4

import pytest

from commerce.billing.domain.policy import OrderCancelledFact, OrderConfirmedFact
from commerce.billing.messages.order_translation import order_fact_of
from commerce.orders.messages.events import OrderCancelledV1, OrderConfirmedV1
from commerce.platform.kit.ids import OrderId, TenantId, UserId
from commerce.platform.kit.money import Money
from commerce.platform.messaging.envelope import Envelope

pytestmark = pytest.mark.unit

ORDER = UUID("7c9e6679-7425-40de-944b-e07fc1f90ae7")
CUSTOMER = UUID("0f8fad5b-d9cb-469f-a165-70867728950e")
AT = "2025-01-15T09:30:00.412000Z"


def _envelope(event: OrderConfirmedV1 | OrderCancelledV1, tenant: UUID) -> Envelope:
    return Envelope.new(
        type=event.message_type, source="/commerce", tenant_id=tenant, subject=str(ORDER)
    )


def _cancelled(previous_status: str) -> OrderCancelledV1:
    return OrderCancelledV1.model_validate_json(
        json.dumps(
            {
                "order_id": str(ORDER),
                "previous_status": previous_status,
                "reason": "customer changed their mind",
                "cancelled_at": AT,
            }
        )
    )


def test_a_confirmation_is_read_as_the_order_total_its_customer_owes() -> None:
    tenant = uuid4()
    confirmed = OrderConfirmedV1.model_validate_json(
        json.dumps(
            {
                "order_id": str(ORDER),
                "customer_id": str(CUSTOMER),
                "total": {"amount": 3998, "currency": "EUR"},
                "confirmed_at": AT,
            }
        )
    )
    assert order_fact_of(confirmed, _envelope(confirmed, tenant)) == OrderConfirmedFact(
        tenant_id=TenantId(tenant),
        order_id=OrderId(ORDER),
        customer_id=UserId(CUSTOMER),
        total=Money(3998, "EUR"),
    )


@pytest.mark.parametrize(
    ("previous_status", "was_confirmed"),
    [("placed", False), ("confirmed", True), ("draft", False), ("shipped", False)],
)
def test_a_cancellation_was_of_a_confirmed_order_only_from_confirmed(
    previous_status: str, was_confirmed: bool
) -> None:
    tenant = uuid4()
    cancelled = _cancelled(previous_status)
    assert order_fact_of(cancelled, _envelope(cancelled, tenant)) == OrderCancelledFact(
        tenant_id=TenantId(tenant),
        order_id=OrderId(ORDER),
        reason="customer changed their mind",
        was_confirmed=was_confirmed,
    )


def test_the_tenant_is_the_envelope_s() -> None:
    cancelled = _cancelled("confirmed")
    first, second = uuid4(), uuid4()
    facts = [order_fact_of(cancelled, _envelope(cancelled, t)) for t in (first, second)]
    assert [fact.tenant_id for fact in facts] == [TenantId(first), TenantId(second)]
