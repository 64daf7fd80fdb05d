"""What billing reads from the orders context's published events: its anti-corruption layer.

The billing policy decides on its own view of an order
(:class:`~commerce.billing.domain.policy.OrderFact`), never on the orders context's
domain types. :func:`order_fact_of` builds that view from the published language, an
``OrderConfirmed.v1`` or ``OrderCancelled.v1`` and its envelope: the tenant is the
envelope's, everything else the body's. Billing needs no other order event.
"""

from __future__ import annotations

from commerce.billing.domain.policy import OrderCancelledFact, OrderConfirmedFact, OrderFact
from commerce.orders.messages.events import OrderCancelledV1, OrderConfirmedV1
from commerce.platform.kit.ids import OrderId, TenantId, UserId
from commerce.platform.messaging.envelope import Envelope

__all__ = ["order_fact_of"]

_CONFIRMED = "confirmed"
"""The ``previous_status`` of an ``OrderCancelled.v1`` whose order had been invoiced."""


def order_fact_of(event: OrderConfirmedV1 | OrderCancelledV1, envelope: Envelope) -> OrderFact:
    """What billing knows of the order change ``event`` (with its ``envelope``) announces.

    Raises :class:`~commerce.platform.kit.errors.InvalidValue` for a total in a currency
    the domain refuses.
    """
    tenant_id = TenantId(envelope.tenant_id)
    order_id = OrderId(event.order_id)
    match event:
        case OrderConfirmedV1():
            return OrderConfirmedFact(
                tenant_id=tenant_id,
                order_id=order_id,
                customer_id=UserId(event.customer_id),
                total=event.total.to_money(),
            )
        case OrderCancelledV1():
            return OrderCancelledFact(
                tenant_id=tenant_id,
                order_id=order_id,
                reason=event.reason,
                was_confirmed=event.previous_status == _CONFIRMED,
            )
