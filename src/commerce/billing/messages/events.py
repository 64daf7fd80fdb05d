"""Integration events of the billing context, on the ``commerce.billing.invoice`` stream."""

from __future__ import annotations

from typing import ClassVar
from uuid import UUID

from pydantic import AwareDatetime, ConfigDict, Field

from commerce.billing.domain.events import InvoiceIssued, InvoiceVoided, PaymentCaptured
from commerce.billing.messages.channels import INVOICES
from commerce.platform.kit.events import DomainEvent
from commerce.platform.messaging.channels import EventStream
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.money import MoneyPayload

__all__ = ["InvoiceIssuedV1", "InvoiceVoidedV1", "PaymentCapturedV1", "billing_event_for"]

_INVOICE_ID = "b1c2d3e4-f5a6-5b7c-8d9e-0f1a2b3c4d5e"
_ORDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_AT = "2025-01-15T09:30:00.412000Z"
_INVOICE_FIELD = "The invoice (the message key / routing key)."
_ORDER_FIELD = "The order invoiced (one invoice per order)."


class InvoiceIssuedV1(IntegrationEvent):
    """A confirmed order was invoiced for its total."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": _INVOICE_ID,
                    "order_id": _ORDER_ID,
                    "customer_id": "0f8fad5b-d9cb-469f-a165-70867728950e",
                    "amount": {"amount": 3998, "currency": "EUR"},
                    "issued_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.billing.InvoiceIssued.v1"
    stream: ClassVar[EventStream] = INVOICES

    invoice_id: UUID = Field(description=_INVOICE_FIELD)
    order_id: UUID = Field(description=_ORDER_FIELD)
    customer_id: UUID = Field(description="The customer who owes the amount.")
    amount: MoneyPayload = Field(description="The amount due: the order's total.")
    issued_at: AwareDatetime = Field(description="When the invoice was issued.")


class PaymentCapturedV1(IntegrationEvent):
    """The invoice was paid in full."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": _INVOICE_ID,
                    "order_id": _ORDER_ID,
                    "amount": {"amount": 3998, "currency": "EUR"},
                    "reference": "psp-2025-000123",
                    "captured_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.billing.PaymentCaptured.v1"
    stream: ClassVar[EventStream] = INVOICES

    invoice_id: UUID = Field(description=_INVOICE_FIELD)
    order_id: UUID = Field(description=_ORDER_FIELD)
    amount: MoneyPayload = Field(description="The amount paid.")
    reference: str = Field(description="The payment provider's reference.")
    captured_at: AwareDatetime = Field(description="When the payment was captured.")


class InvoiceVoidedV1(IntegrationEvent):
    """An unpaid invoice was cancelled because its order was."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": _INVOICE_ID,
                    "order_id": _ORDER_ID,
                    "reason": "customer changed their mind",
                    "voided_at": _AT,
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.billing.InvoiceVoided.v1"
    stream: ClassVar[EventStream] = INVOICES

    invoice_id: UUID = Field(description=_INVOICE_FIELD)
    order_id: UUID = Field(description=_ORDER_FIELD)
    reason: str = Field(description="Why (the order's cancellation reason).")
    voided_at: AwareDatetime = Field(description="When the invoice was voided.")


def billing_event_for(event: DomainEvent) -> IntegrationEvent | None:
    """The integration event of a billing domain event; ``None`` for other contexts'."""
    match event:
        case InvoiceIssued():
            return InvoiceIssuedV1(
                invoice_id=event.invoice_id.value,
                order_id=event.order_id.value,
                customer_id=event.customer_id.value,
                amount=MoneyPayload.of(event.amount),
                issued_at=event.occurred_at,
            )
        case PaymentCaptured():
            return PaymentCapturedV1(
                invoice_id=event.invoice_id.value,
                order_id=event.order_id.value,
                amount=MoneyPayload.of(event.amount),
                reference=event.reference,
                captured_at=event.occurred_at,
            )
        case InvoiceVoided():
            return InvoiceVoidedV1(
                invoice_id=event.invoice_id.value,
                order_id=event.order_id.value,
                reason=event.reason,
                voided_at=event.occurred_at,
            )
    return None
