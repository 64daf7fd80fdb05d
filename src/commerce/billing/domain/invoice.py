"""The ``Invoice`` aggregate of the billing context.

States: **issued** → **paid** (``capture_payment``) or **voided** (``void``); both final.

* An invoice is issued for a confirmed order, for the order's total (the
  :func:`~commerce.billing.domain.policy.invoice_policy` turns ``OrderConfirmed`` into
  :class:`~commerce.billing.domain.policy.IssueInvoice`). One invoice per order: its id is
  :meth:`InvoiceId.for_order <commerce.platform.kit.ids.InvoiceId.for_order>`.
* ``capture_payment`` settles the invoice once, for exactly its amount (no partial
  payments). Capturing again with the **same payment reference is an idempotent no-op**
  (a retried capture); with a different reference it is refused with
  :class:`~commerce.platform.kit.errors.InvoiceAlreadySettled`, since it would charge twice.
* ``void`` cancels an unpaid invoice (its order was cancelled); voiding a voided invoice
  is a no-op. **A paid invoice cannot be voided**: refunds are out of scope, so it is
  refused with :class:`~commerce.platform.kit.errors.InvoiceAlreadySettled`. A voided invoice
  cannot be paid (:class:`~commerce.platform.kit.errors.IllegalTransition`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from commerce.billing.domain.errors import InvoiceAlreadySettled, PaymentAmountMismatch
from commerce.billing.domain.events import InvoiceIssued, InvoiceVoided, PaymentCaptured
from commerce.platform.kit.errors import IllegalTransition, InvalidValue
from commerce.platform.kit.events import DomainEvent, EventHeader
from commerce.platform.kit.ids import InvoiceId, OrderId, TenantId, UserId, require_aware
from commerce.platform.kit.money import Money

__all__ = ["Invoice", "InvoiceStatus"]

_MAX_TEXT = 500


class InvoiceStatus(StrEnum):
    """Life-cycle state of an invoice."""

    ISSUED = "issued"
    PAID = "paid"
    VOIDED = "voided"


def _text(value: str, what: str) -> str:
    cleaned = value.strip()
    if not cleaned or len(cleaned) > _MAX_TEXT:
        raise InvalidValue(f"{what} must be 1-{_MAX_TEXT} characters")
    return cleaned


@dataclass(slots=True, eq=False)
class Invoice:
    """What a customer owes for one confirmed order, and whether it was paid."""

    id: InvoiceId
    tenant_id: TenantId
    order_id: OrderId
    customer_id: UserId
    amount: Money
    status: InvoiceStatus
    version: int
    issued_at: datetime
    payment_reference: str | None = None
    pending_events: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def issue(
        cls,
        *,
        invoice_id: InvoiceId,
        tenant_id: TenantId,
        order_id: OrderId,
        customer_id: UserId,
        amount: Money,
        now: datetime,
    ) -> Invoice:
        """Issue an invoice for a confirmed order's (positive) total: :class:`InvoiceIssued`."""
        if not amount.is_positive:
            raise InvalidValue(f"an invoice is for a positive amount, not {amount}")
        require_aware(now)
        invoice = cls(
            id=invoice_id,
            tenant_id=tenant_id,
            order_id=order_id,
            customer_id=customer_id,
            amount=amount,
            status=InvoiceStatus.ISSUED,
            version=1,
            issued_at=now,
        )
        invoice.pending_events.append(
            InvoiceIssued(
                **invoice._header(now),
                invoice_id=invoice_id,
                order_id=order_id,
                customer_id=customer_id,
                amount=amount,
            )
        )
        return invoice

    @property
    def is_settled(self) -> bool:
        """Whether the invoice is paid."""
        return self.status is InvoiceStatus.PAID

    def capture_payment(self, *, amount: Money, reference: str, now: datetime) -> None:
        """Settle the invoice with a payment of exactly its amount: :class:`PaymentCaptured`.

        Idempotent for the same ``reference``; a second, different payment is refused.
        """
        reference = _text(reference, "a payment reference")
        require_aware(now)
        if self.status is InvoiceStatus.PAID:
            if reference == self.payment_reference:
                return
            raise InvoiceAlreadySettled(
                f"invoice {self.id} is already paid (payment {self.payment_reference})"
            )
        if self.status is InvoiceStatus.VOIDED:
            raise IllegalTransition(f"invoice {self.id} is voided; it cannot be paid")
        if amount != self.amount:
            raise PaymentAmountMismatch(f"invoice {self.id} is for {self.amount}, not {amount}")
        self.status = InvoiceStatus.PAID
        self.payment_reference = reference
        self.version += 1
        self.pending_events.append(
            PaymentCaptured(
                **self._header(now),
                invoice_id=self.id,
                order_id=self.order_id,
                amount=amount,
                reference=reference,
            )
        )

    def void(self, *, reason: str, now: datetime) -> None:
        """Cancel an unpaid invoice: :class:`InvoiceVoided`. Paid invoices are refused."""
        reason = _text(reason, "a reason")
        require_aware(now)
        if self.status is InvoiceStatus.VOIDED:
            return
        if self.status is InvoiceStatus.PAID:
            raise InvoiceAlreadySettled(
                f"invoice {self.id} is paid; it cannot be voided (refunds are not supported)"
            )
        self.status = InvoiceStatus.VOIDED
        self.version += 1
        self.pending_events.append(
            InvoiceVoided(
                **self._header(now), invoice_id=self.id, order_id=self.order_id, reason=reason
            )
        )

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last call."""
        events, self.pending_events = self.pending_events, []
        return events

    def _header(self, now: datetime) -> EventHeader:
        return {
            "tenant_id": self.tenant_id,
            "aggregate_id": str(self.id),
            "version": self.version,
            "occurred_at": now,
        }
