"""Use cases of the billing context: the billing policy (a process manager) and payments.

Invoices are state-stored (table ``invoices``, revision 0007): an invoice has three states
and at most two events, so a row with a version is enough, and its events reach
downstream consumers through the outbox like every other.

:func:`apply_billing_policy` runs for each order confirmation and cancellation the billing
consumer receives, as billing's own view of the order
(:class:`~commerce.billing.domain.policy.OrderFact`), in order per order, inside that
event's transaction (inbox + state + outbox), so a redelivered event has no second effect
and a crash mid-way leaves nothing half done. The decision is
:func:`~commerce.billing.domain.policy.invoice_policy`'s; carrying it out is
idempotent besides: the invoice id is derived from the order id, an invoice that exists is
not issued again, and voiding a voided invoice is a no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.billing.application.ports import BillingUnitOfWork
from commerce.billing.domain.errors import InvoiceNotFound
from commerce.billing.domain.invoice import Invoice
from commerce.billing.domain.policy import IssueInvoice, OrderFact, VoidInvoice, invoice_policy
from commerce.platform.kit.ids import InvoiceId
from commerce.platform.kit.money import Money
from commerce.platform.transactions.ports import Clock
from commerce.platform.transactions.state_changes import save_changes

__all__ = ["CapturePaymentCommand", "apply_billing_policy", "capture_payment"]


@dataclass(frozen=True, slots=True)
class CapturePaymentCommand:
    """Settle an invoice: the ``CapturePayment`` message."""

    invoice_id: InvoiceId
    amount: Money
    reference: str


async def capture_payment(
    command: CapturePaymentCommand, uow: BillingUnitOfWork, *, clock: Clock
) -> None:
    """Mark the invoice paid (the same reference again is a no-op)."""
    invoice = await uow.invoices.get(command.invoice_id)
    if invoice is None:
        raise InvoiceNotFound(f"invoice {command.invoice_id} does not exist in this tenant")
    invoice.capture_payment(amount=command.amount, reference=command.reference, now=clock.now())
    await save_changes(invoice, uow.invoices, uow.outbox)


async def apply_billing_policy(fact: OrderFact, uow: BillingUnitOfWork, *, clock: Clock) -> None:
    """Do what the billing policy decides for ``fact`` (an order's change), if anything.

    * A confirmed order: issue its invoice, unless it exists already.
    * A cancelled order that was confirmed: void its invoice. An invoice that is
      missing (issued before billing ran) or already paid is left alone: refunds are out
      of scope, and refusing would only park the order's later events behind a dead
      letter no one can fix.
    """
    match invoice_policy(fact):
        case IssueInvoice() as issue:
            if await uow.invoices.get(issue.invoice_id) is not None:
                return
            issued = Invoice.issue(
                invoice_id=issue.invoice_id,
                tenant_id=issue.tenant_id,
                order_id=issue.order_id,
                customer_id=issue.customer_id,
                amount=issue.amount,
                now=clock.now(),
            )
            await uow.invoices.add(issued)
            uow.outbox.publish(issued.collect_events())
        case VoidInvoice() as void:
            existing = await uow.invoices.get(void.invoice_id)
            if existing is None or existing.is_settled:
                return
            existing.void(reason=void.reason, now=clock.now())
            await save_changes(existing, uow.invoices, uow.outbox)
        case None:
            return
