"""A tenant's customer, item and order driven through the broker, for integration tests.

:class:`Shop` sends commands through a running worker's transport and reads the results
back from Postgres (the app role, scoped to its tenant; the relay role for the outbox).
"""

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.service import Service
from commerce.catalog.messages.commands import CreateItem
from commerce.identity.messages.commands import RegisterUser
from commerce.orders.messages.commands import AddLine, ConfirmOrder, PlaceOrder
from commerce.platform.kit.ids import InvoiceId, OrderId
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import events, invoices, outbox
from commerce.registry.channels import route_of

__all__ = ["ANY_ID", "CONFIRMED", "ISSUED", "Shop", "eventually"]

ISSUED = "commerce.billing.InvoiceIssued.v1"
CONFIRMED = "commerce.orders.OrderConfirmed.v1"


async def eventually(
    check: Callable[[], Awaitable[Any]], expected: Any, timeout: float = 45
) -> None:
    """Poll ``check()`` until it returns ``expected``."""
    deadline = time.monotonic() + timeout
    while (found := await check()) != expected:
        if time.monotonic() > deadline:
            raise AssertionError(f"expected {expected!r}, still {found!r}")
        await asyncio.sleep(0.1)


class Shop:
    """One tenant's customer, item and order, driven through the broker."""

    def __init__(self, app_engine: AsyncEngine, relay_engine: AsyncEngine) -> None:
        self.app = app_engine
        self.relay = relay_engine
        self.tenant = uuid4()
        self.user_id, self.item_id, self.order_id = uuid4(), uuid4(), uuid4()
        self.invoice_id = InvoiceId.for_order(OrderId(self.order_id)).value

    async def send(self, service: Service, command: Command) -> None:
        await service.send_command(route_of(type(command)).channel, command, tenant_id=self.tenant)

    async def order_version(self) -> int:
        query = select(func.coalesce(func.max(events.c.version), 0)).where(
            events.c.stream_id == self.order_id
        )
        async with tenant_transaction(self.app, self.tenant) as connection:
            return int(await connection.scalar(query) or 0)

    async def invoice(self) -> tuple[str, int] | None:
        query = select(invoices.c.status, invoices.c.amount).where(
            invoices.c.order_id == self.order_id
        )
        async with tenant_transaction(self.app, self.tenant) as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else (row.status, row.amount)

    async def published(self, event_type: str) -> list[tuple[UUID, bool]]:
        """The tenant's outbox rows of ``event_type``: message id, and whether sent."""
        query = (
            select(outbox.c.message_id, outbox.c.sent_at.is_not(None))
            .where(outbox.c.tenant_id == self.tenant, outbox.c.event_type == event_type)
            .order_by(outbox.c.position)
        )
        async with self.relay.connect() as connection:
            return [(row[0], row[1]) for row in await connection.execute(query)]

    async def republish(self, event_type: str) -> None:
        """Make the relay publish the tenant's ``event_type`` rows again (same message ids)."""
        statement = (
            update(outbox)
            .where(outbox.c.tenant_id == self.tenant, outbox.c.event_type == event_type)
            .values(sent_at=None)
        )
        async with self.relay.begin() as connection:
            await connection.execute(statement)

    async def open_order(self, service: Service, items: int = 1) -> list[UUID]:
        """Register the customer, create ``items`` items (19.99 EUR) and place the order.

        Returns the item ids (the first is :attr:`item_id`).
        """
        await self.send(
            service,
            RegisterUser(
                user_id=self.user_id,
                email="ada@example.com",
                display_name="Ada",
                password="correct horse battery staple",
            ),
        )
        item_ids = [self.item_id, *(uuid4() for _ in range(items - 1))]
        for item_id in item_ids:
            price = MoneyPayload(amount=1999, currency="EUR")
            await self.send(service, CreateItem(item_id=item_id, name="Engine", price=price))
        await asyncio.sleep(0.5)  # commands are not ordered: let the user and items exist
        await self.send(
            service, PlaceOrder(order_id=self.order_id, customer_id=self.user_id, currency="EUR")
        )
        await eventually(self.order_version, 1)
        return item_ids

    async def confirm_an_order(self, service: Service) -> None:
        """Open the order, add a line (2 x 19.99 EUR) and confirm, step by step."""
        await self.open_order(service)
        await self.send(service, AddLine(order_id=self.order_id, item_id=self.item_id, quantity=2))
        await eventually(self.order_version, 2)
        await self.send(service, ConfirmOrder(order_id=self.order_id))
        await eventually(self.order_version, 3)


class _AnyId:
    """Equal to any UUID."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UUID)

    def __hash__(self) -> int:
        return 0


ANY_ID: Any = _AnyId()
