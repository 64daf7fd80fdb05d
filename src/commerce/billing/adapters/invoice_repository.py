"""The invoice repository over SQLAlchemy Core (table ``invoices``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.billing.domain.invoice import Invoice, InvoiceStatus
from commerce.platform.eventsourcing.streams import ConcurrencyConflict, StreamId
from commerce.platform.kit.ids import InvoiceId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money
from commerce.platform.postgres.tables import invoices
from commerce.platform.postgres.versioned_rows import update_versioned, violated_constraint

__all__ = ["INVOICE_TYPE", "SqlInvoiceRepository"]

INVOICE_TYPE = "commerce.billing.Invoice"
"""How a version conflict on an invoice names the aggregate."""


class SqlInvoiceRepository:
    """:class:`commerce.platform.transactions.ports.InvoiceRepository` on ``invoices``."""

    def __init__(self, connection: AsyncConnection) -> None:
        self._connection = connection

    async def get(self, invoice_id: InvoiceId) -> Invoice | None:
        """Load an invoice of the current tenant."""
        query = select(invoices).where(invoices.c.id == invoice_id.value)
        row = (await self._connection.execute(query)).first()
        if row is None:
            return None
        return Invoice(
            id=InvoiceId(row.id),
            tenant_id=TenantId(row.tenant_id),
            order_id=OrderId(row.order_id),
            customer_id=UserId(row.customer_id),
            amount=Money(row.amount, row.currency),
            status=InvoiceStatus(row.status),
            version=row.version,
            issued_at=row.issued_at,
            payment_reference=row.payment_reference,
        )

    async def add(self, invoice: Invoice) -> None:
        """Insert ``invoice``; an existing one (id or order) is a concurrency conflict."""
        try:
            await self._connection.execute(
                invoices.insert().values(
                    tenant_id=invoice.tenant_id.value,
                    id=invoice.id.value,
                    order_id=invoice.order_id.value,
                    customer_id=invoice.customer_id.value,
                    amount=invoice.amount.amount,
                    currency=invoice.amount.currency,
                    status=invoice.status.value,
                    payment_reference=invoice.payment_reference,
                    version=invoice.version,
                    issued_at=invoice.issued_at,
                    updated_at=invoice.issued_at,
                )
            )
        except IntegrityError as error:
            if violated_constraint(error):
                stream = StreamId(INVOICE_TYPE, invoice.id.value)
                raise ConcurrencyConflict(stream, 0, "the invoice exists already") from None
            raise

    async def update(self, invoice: Invoice, *, expected_version: int) -> None:
        """Write status, payment reference and version if the row is at ``expected_version``."""
        await update_versioned(
            self._connection,
            invoices,
            aggregate=StreamId(INVOICE_TYPE, invoice.id.value),
            expected_version=expected_version,
            values={
                "status": invoice.status.value,
                "payment_reference": invoice.payment_reference,
                "version": invoice.version,
                "updated_at": func.now(),
            },
        )
