"""Rule violations of the billing context (each with a stable code)."""

from __future__ import annotations

from commerce.platform.kit.errors import DomainError, NotFound

__all__ = ["InvoiceAlreadySettled", "InvoiceNotFound", "PaymentAmountMismatch"]


class InvoiceAlreadySettled(DomainError):
    """The invoice is paid: it cannot be voided or paid again (refunds are not in scope)."""

    code = "invoice_already_settled"


class PaymentAmountMismatch(DomainError):
    """The captured amount differs from the invoice amount (no partial payments)."""

    code = "payment_amount_mismatch"


class InvoiceNotFound(NotFound):
    """No invoice of this tenant has the id."""

    code = "invoice_not_found"
