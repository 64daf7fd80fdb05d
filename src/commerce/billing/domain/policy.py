"""The billing policy: what billing does when an order changes, as a pure decision.

Billing keeps its own view of the orders it bills: the few facts of an order the policy
needs (:class:`OrderConfirmedFact`, :class:`OrderCancelledFact`), read from the orders
context's published events by
:func:`~commerce.billing.messages.order_translation.order_fact_of`. The process manager,
the ``commerce.billing.invoice-policy`` ordered consumer of the orders stream
(``billing/subscribers.py``), hands each fact to
:func:`~commerce.billing.application.use_cases.apply_billing_policy`, which asks
:func:`invoice_policy` and carries out the command it returns, if any:

* a confirmed order → :class:`IssueInvoice` for the order's total;
* a cancelled order that *was confirmed* → :class:`VoidInvoice`. An order cancelled
  while still placed was never invoiced, so there is nothing to void.

The invoice id is derived from the order id (``InvoiceId.for_order``), so redelivered
events decide the same commands and the void addresses the invoice without a lookup.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.platform.kit.ids import InvoiceId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money

__all__ = [
    "BillingCommand",
    "IssueInvoice",
    "OrderCancelledFact",
    "OrderConfirmedFact",
    "OrderFact",
    "VoidInvoice",
    "invoice_policy",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderConfirmedFact:
    """An order was confirmed: its customer owes ``total``."""

    tenant_id: TenantId
    order_id: OrderId
    customer_id: UserId
    total: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderCancelledFact:
    """An order was cancelled for ``reason``; ``was_confirmed`` if it had been invoiced."""

    tenant_id: TenantId
    order_id: OrderId
    reason: str
    was_confirmed: bool


type OrderFact = OrderConfirmedFact | OrderCancelledFact
"""What the billing policy knows of an order's change."""


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


def invoice_policy(fact: OrderFact) -> BillingCommand | None:
    """The billing command ``fact`` calls for, or ``None``."""
    match fact:
        case OrderConfirmedFact():
            return IssueInvoice(
                tenant_id=fact.tenant_id,
                invoice_id=InvoiceId.for_order(fact.order_id),
                order_id=fact.order_id,
                customer_id=fact.customer_id,
                amount=fact.total,
            )
        case OrderCancelledFact(was_confirmed=True):
            return VoidInvoice(
                tenant_id=fact.tenant_id,
                invoice_id=InvoiceId.for_order(fact.order_id),
                order_id=fact.order_id,
                reason=fact.reason,
            )
        case OrderCancelledFact():
            return None
