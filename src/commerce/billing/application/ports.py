"""Ports of the billing context: what its use cases need, implemented by adapters and fakes."""

from __future__ import annotations

from typing import Protocol

from commerce.billing.domain.invoice import Invoice
from commerce.platform.kit.ids import InvoiceId
from commerce.platform.transactions.ports import UnitOfWork

__all__ = ["BillingUnitOfWork", "InvoiceRepository"]


class InvoiceRepository(Protocol):
    """Invoices of the current tenant (state-stored, versioned)."""

    async def get(self, invoice_id: InvoiceId) -> Invoice | None:
        """The invoice, or ``None`` when this tenant has no such invoice."""
        ...

    async def add(self, invoice: Invoice) -> None:
        """Insert a new invoice.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when an
        invoice with this id or for this order exists already (a concurrent writer won):
        the retried command then finds it.
        """
        ...

    async def update(self, invoice: Invoice, *, expected_version: int) -> None:
        """Write the changed state of ``invoice``, loaded at ``expected_version``.

        Raises :class:`~commerce.platform.eventsourcing.streams.ConcurrencyConflict` when the
        stored row moved on; the whole command is retried.
        """
        ...


class BillingUnitOfWork(UnitOfWork, Protocol):
    """The unit of work of the billing context's use cases."""

    @property
    def invoices(self) -> InvoiceRepository:
        """Invoices of the message's tenant."""
        ...
