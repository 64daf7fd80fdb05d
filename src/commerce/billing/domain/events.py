"""Domain events of the billing context (the :class:`~commerce.billing.domain.invoice.Invoice`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import InvoiceId, OrderId, UserId
from commerce.platform.kit.money import Money

__all__ = ["InvoiceIssued", "InvoiceVoided", "PaymentCaptured"]


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceIssued(DomainEvent):
    """A confirmed order was invoiced for its total."""

    event_type: ClassVar[str] = "commerce.billing.InvoiceIssued.v1"

    invoice_id: InvoiceId
    order_id: OrderId
    customer_id: UserId
    amount: Money


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentCaptured(DomainEvent):
    """The invoice was paid in full; ``reference`` identifies the payment."""

    event_type: ClassVar[str] = "commerce.billing.PaymentCaptured.v1"

    invoice_id: InvoiceId
    order_id: OrderId
    amount: Money
    reference: str


@dataclass(frozen=True, slots=True, kw_only=True)
class InvoiceVoided(DomainEvent):
    """An unpaid invoice was cancelled, because its order was."""

    event_type: ClassVar[str] = "commerce.billing.InvoiceVoided.v1"

    invoice_id: InvoiceId
    order_id: OrderId
    reason: str
