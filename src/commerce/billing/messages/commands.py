"""Command payloads of the billing context (the invoice)."""

from __future__ import annotations

from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import ConfigDict, Field

from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.money import MoneyPayload

__all__ = ["CapturePayment"]


class CapturePayment(Command):
    """Settle an invoice with a payment of exactly its amount

    Repeating the capture with the same ``reference`` changes nothing; another reference
    on a paid invoice is refused.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "invoice_id": "b1c2d3e4-f5a6-5b7c-8d9e-0f1a2b3c4d5e",
                    "amount": {"amount": 3998, "currency": "EUR"},
                    "reference": "psp-2025-000123",
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.billing.CapturePayment.v1"
    key_field: ClassVar[str] = "invoice_id"

    invoice_id: UUID = Field(description="The invoice paid (from `InvoiceIssued`).")
    amount: MoneyPayload = Field(description="The amount captured: the invoice's amount.")
    reference: Annotated[str, Field(min_length=1, max_length=500)] = Field(
        description="The payment provider's reference of the payment."
    )
