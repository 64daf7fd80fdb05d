"""One tenant's full order life cycle, driven through a running worker, for the e2e test.

:class:`Tenant` names what a tenant owns (a customer, two items, a shipped and a cancelled
order) and what its read models must show once the life cycle is over. :class:`Lifecycle`
sends the tenant's commands through the worker's transport and, where the next step
depends on the previous one, waits for it on the write side (Postgres, under the tenant's
row-level security): commands are handled concurrently, so nothing else orders them.
"""

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from pydantic import SecretStr
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.billing.messages.commands import CapturePayment
from commerce.bootstrap.service import Service
from commerce.catalog.messages.commands import CreateItem
from commerce.identity.messages.commands import RegisterUser
from commerce.orders.messages.commands import (
    AddLine,
    CancelOrder,
    ConfirmOrder,
    PlaceOrder,
    ShipOrder,
)
from commerce.platform.kit.ids import InvoiceId, OrderId
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import catalog_items, events, invoices, users
from commerce.registry.channels import route_of
from tests.support.shop import eventually

__all__ = ["Lifecycle", "Tenant", "invoice_of"]

_EUR = "EUR"
type _OrderCommand = AddLine | ConfirmOrder | ShipOrder | CancelOrder


def invoice_of(order_id: UUID) -> UUID:
    """The id of the one invoice the billing policy issues for ``order_id``."""
    return InvoiceId.for_order(OrderId(order_id)).value


@dataclass(frozen=True)
class Tenant:
    """A tenant's customer, two items and orders, and the totals they must add up to.

    The shipped order holds 2 x item 0 and 1 x item 1 and is paid before shipping; the
    cancelled order holds 1 x item 0 and is cancelled after its invoice was issued.
    """

    customer_name: str
    prices: tuple[int, int]
    stock: tuple[int, int]
    tenant_id: UUID = field(default_factory=uuid4)
    customer: UUID = field(default_factory=uuid4)
    items: tuple[UUID, UUID] = field(default_factory=lambda: (uuid4(), uuid4()))
    shipped: UUID = field(default_factory=uuid4)
    cancelled: UUID = field(default_factory=uuid4)
    email: str = "customer@example.com"  # the same in every tenant: unique per tenant only

    @property
    def shipped_lines(self) -> list[tuple[UUID, int, int]]:
        """The shipped order's lines: item, quantity, subtotal."""
        return [(self.items[0], 2, 2 * self.prices[0]), (self.items[1], 1, self.prices[1])]

    @property
    def shipped_total(self) -> int:
        return sum(subtotal for _, _, subtotal in self.shipped_lines)

    @property
    def cancelled_total(self) -> int:
        return self.prices[0]

    def expected_events(self) -> Counter[tuple[UUID, str, str]]:
        """Every event the life cycle publishes: (tenant, type, subject), with repeats."""
        shipped, cancelled = str(self.shipped), str(self.cancelled)
        kinds = [
            ("identity.UserRegistered", str(self.customer)),
            *(("catalog.ItemCreated", str(item)) for item in self.items),
            *((f"orders.{kind}", shipped) for kind in _SHIPPED_ORDER_EVENTS),
            *((f"orders.{kind}", cancelled) for kind in _CANCELLED_ORDER_EVENTS),
            *((f"billing.{kind}", str(invoice_of(self.shipped))) for kind in _PAID),
            *((f"billing.{kind}", str(invoice_of(self.cancelled))) for kind in _VOIDED),
        ]
        return Counter((self.tenant_id, f"commerce.{kind}.v1", subject) for kind, subject in kinds)


_SHIPPED_ORDER_EVENTS = (
    "OrderPlaced",
    "OrderLineAdded",
    "OrderLineAdded",
    "OrderConfirmed",
    "OrderShipped",
)
_CANCELLED_ORDER_EVENTS = ("OrderPlaced", "OrderLineAdded", "OrderConfirmed", "OrderCancelled")
_PAID = ("InvoiceIssued", "PaymentCaptured")
_VOIDED = ("InvoiceIssued", "InvoiceVoided")


class Lifecycle:
    """Drives one :class:`Tenant` through ``service`` and reads its write side back."""

    def __init__(self, service: Service, app_engine: AsyncEngine, tenant: Tenant) -> None:
        self.service = service
        self.app = app_engine
        self.tenant = tenant

    async def run(self) -> None:
        """Register the customer, create the items, then run both orders side by side."""
        tenant = self.tenant
        await self.send(
            RegisterUser(
                user_id=tenant.customer,
                email=tenant.email,
                display_name=tenant.customer_name,
                password=SecretStr("correct horse battery staple"),
            )
        )
        for number, (item, price, stock) in enumerate(
            zip(tenant.items, tenant.prices, tenant.stock, strict=True)
        ):
            name = f"{tenant.customer_name}'s item {number}"
            await self.send(CreateItem(item_id=item, name=name, price=_eur(price), stock=stock))
        await eventually(self._customer_and_items, (1, 2))
        await asyncio.gather(self._ship_an_order(), self._cancel_an_order())

    async def place_and_confirm(self, order_id: UUID, item: UUID, quantity: int) -> None:
        """One more order of the customer: placed, one line, confirmed and invoiced."""
        tenant = self.tenant
        total = quantity * tenant.prices[tenant.items.index(item)]
        await self.send(PlaceOrder(order_id=order_id, customer_id=tenant.customer, currency=_EUR))
        await eventually(lambda: self.order_version(order_id), 1)
        await self._step(AddLine(order_id=order_id, item_id=item, quantity=quantity), 2)
        await self._step(ConfirmOrder(order_id=order_id), 3)
        await eventually(lambda: self.invoice(order_id), ("issued", total))

    async def send(self, command: Command) -> None:
        """Publish ``command`` in the tenant, as an upstream service would."""
        channel = route_of(type(command)).channel
        await self.service.send_command(channel, command, tenant_id=self.tenant.tenant_id)

    async def order_version(self, order_id: UUID) -> int:
        """The order's version in the event store (0: no such order in this tenant)."""
        query = select(func.coalesce(func.max(events.c.version), 0)).where(
            events.c.stream_id == order_id
        )
        return int(await self._scalar(query) or 0)

    async def invoice(self, order_id: UUID) -> tuple[str, int] | None:
        """The order's invoice as (status, amount), if the tenant has one."""
        query = select(invoices.c.status, invoices.c.amount).where(invoices.c.order_id == order_id)
        async with tenant_transaction(self.app, self.tenant.tenant_id) as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else (row.status, row.amount)

    async def _ship_an_order(self) -> None:
        tenant, order = self.tenant, self.tenant.shipped
        await self.send(PlaceOrder(order_id=order, customer_id=tenant.customer, currency=_EUR))
        await eventually(lambda: self.order_version(order), 1)
        for version, (item, quantity, _) in enumerate(tenant.shipped_lines, start=2):
            await self._step(AddLine(order_id=order, item_id=item, quantity=quantity), version)
        await self._step(ConfirmOrder(order_id=order), 4)
        await eventually(lambda: self.invoice(order), ("issued", tenant.shipped_total))
        await self.send(
            CapturePayment(
                invoice_id=invoice_of(order),
                amount=_eur(tenant.shipped_total),
                reference=f"psp-{order.hex[:12]}",
            )
        )
        await eventually(lambda: self.invoice(order), ("paid", tenant.shipped_total))
        await self._step(ShipOrder(order_id=order), 5)

    async def _cancel_an_order(self) -> None:
        tenant, order = self.tenant, self.tenant.cancelled
        await self.send(PlaceOrder(order_id=order, customer_id=tenant.customer, currency=_EUR))
        await eventually(lambda: self.order_version(order), 1)
        await self._step(AddLine(order_id=order, item_id=tenant.items[0], quantity=1), 2)
        await self._step(ConfirmOrder(order_id=order), 3)
        await eventually(lambda: self.invoice(order), ("issued", tenant.cancelled_total))
        await self._step(CancelOrder(order_id=order, reason="changed my mind"), 4)
        await eventually(lambda: self.invoice(order), ("voided", tenant.cancelled_total))

    async def _step(self, command: _OrderCommand, version: int) -> None:
        """Send an order command and wait until the order reached ``version``."""
        await self.send(command)
        await eventually(lambda: self.order_version(command.order_id), version)

    async def _customer_and_items(self) -> tuple[int, int]:
        customers = select(func.count()).where(users.c.id == self.tenant.customer)
        items = select(func.count()).where(catalog_items.c.id.in_(self.tenant.items))
        return int(await self._scalar(customers)), int(await self._scalar(items))

    async def _scalar(self, query: Any) -> Any:
        async with tenant_transaction(self.app, self.tenant.tenant_id) as connection:
            return await connection.scalar(query)


def _eur(amount: int) -> MoneyPayload:
    return MoneyPayload(amount=amount, currency=_EUR)
