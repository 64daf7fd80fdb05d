"""The billing policy: what billing does when an order changes, as a pure decision.

The process manager, the ``commerce.billing.invoice-policy`` ordered consumer of the
orders stream (``entrypoints/subscribers_billing.py``), hands each order event to
:func:`~commerce.billing.application.use_cases.apply_billing_policy`, which asks
:func:`invoice_policy` and carries out the command it returns, if any:

* ``OrderConfirmed`` → :class:`IssueInvoice` for the order's total;
* ``OrderCancelled`` of a *confirmed* order → :class:`VoidInvoice`. An order cancelled
  while still placed was never invoiced, so there is nothing to void;
* any other event → ``None``.

The invoice id is derived from the order id (``InvoiceId.for_order``), so redelivered
events decide the same commands and the void addresses the invoice without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.orders.domain.events import OrderCancelled, OrderConfirmed, OrderStatus
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import InvoiceId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money

__all__ = ["BillingCommand", "IssueInvoice", "VoidInvoice", "invoice_policy"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IssueInvoice:
    """Issue the invoice of a confirmed order, for ``amount``."""

    tenant_id: TenantId
    invoice_id: InvoiceId
    order_id: OrderId
    customer_id: UserId
    amount: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class VoidInvoice:
    """Void the invoice of a cancelled order."""

    tenant_id: TenantId
    invoice_id: InvoiceId
    order_id: OrderId
    reason: str


type BillingCommand = IssueInvoice | VoidInvoice
"""A command the billing policy may decide on."""


def invoice_policy(event: DomainEvent) -> BillingCommand | None:
    """The billing command ``event`` calls for, or ``None``."""
    match event:
        case OrderConfirmed():
            return IssueInvoice(
                tenant_id=event.tenant_id,
                invoice_id=InvoiceId.for_order(event.order_id),
                order_id=event.order_id,
                customer_id=event.customer_id,
                amount=event.total,
            )
        case OrderCancelled(previous_status=OrderStatus.CONFIRMED):
            return VoidInvoice(
                tenant_id=event.tenant_id,
                invoice_id=InvoiceId.for_order(event.order_id),
                order_id=event.order_id,
                reason=event.reason,
            )
        case _:
            return None
