"""Running the use cases of issue #4 through ``process_command``, as the subscribers do.

:class:`Scenario` drives one tenant against any unit of work factory (the in-memory fake
or Postgres), with a fake clock, and reads the resulting state back. Each method sends
one command (a fresh message id unless one is given) and returns the outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from uuid import UUID, uuid4

from commerce.billing.application.use_cases import (
    CapturePaymentCommand,
    apply_billing_policy,
    capture_payment,
)
from commerce.billing.domain.invoice import Invoice
from commerce.billing.messages.order_translation import order_fact_of
from commerce.catalog.application.use_cases import (
    AdjustStockCommand,
    ChangePriceCommand,
    CreateItemCommand,
    RetireItemCommand,
    adjust_stock,
    change_price,
    create_item,
    retire_item,
)
from commerce.catalog.domain.item import Item
from commerce.identity.application.use_cases import (
    AssignRoleCommand,
    ChangeProfileCommand,
    DeactivateUserCommand,
    assign_role,
    change_profile,
    deactivate_user,
)
from commerce.identity.domain.user import User
from commerce.identity.domain.values import Role
from commerce.orders.application.use_cases import (
    AddLineCommand,
    CancelOrderCommand,
    ConfirmOrderCommand,
    PlaceOrderCommand,
    RemoveLineCommand,
    ShipOrderCommand,
    add_line,
    cancel_order,
    confirm_order,
    order_repository,
    place_order,
    remove_line,
    ship_order,
)
from commerce.orders.domain.order import Order
from commerce.orders.messages.events import OrderCancelledV1, OrderConfirmedV1
from commerce.platform.kit.ids import InvoiceId, ItemId, OrderId, TenantId, UserId, new_uuid7
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.kit.money import Money
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.transactions.ports import UnitOfWork, UnitOfWorkFactory
from commerce.platform.transactions.processing import Outcome, process_command
from tests.support.commands import context_for, register
from tests.support.fakes import FakeClock

__all__ = ["EUR", "Scenario"]

EUR = Money(1999, "EUR")


@dataclass
class Scenario:
    """One tenant's commands through ``process_command`` on ``factory``."""

    factory: UnitOfWorkFactory
    tenant: TenantId = field(default_factory=lambda: TenantId(uuid4()))
    clock: FakeClock = field(default_factory=FakeClock)
    snapshot_every: int = 50

    async def run(
        self,
        message_type: str,
        aggregate_id: object,
        handler: Callable[[UnitOfWork], Awaitable[None]],
        *,
        message_id: UUID | None = None,
        consumer: str | None = None,
        rejects: bool = True,
    ) -> Outcome:
        """Process one message with ``handler`` (a use case bound to its command).

        ``rejects=False``: an event consumer's message (a broken rule raises).
        """
        message_id = message_id or new_uuid7()
        context = MessageContext(
            message_id=message_id,
            message_type=message_type,
            tenant_id=self.tenant,
            correlation_id=message_id,
        )
        return await process_command(
            consumer=consumer or f"tests.{message_type}",
            context=context,
            aggregate_id=str(aggregate_id),
            handler=handler,
            open_unit_of_work=self.factory,
            rejects=rejects,
        )

    def _timed(self, use_case: Callable[..., Awaitable[None]], command: object) -> Any:
        return partial(use_case, command, clock=self.clock)

    def _ordered(self, use_case: Callable[..., Awaitable[None]], command: object) -> Any:
        return partial(use_case, command, clock=self.clock, snapshot_every=self.snapshot_every)

    # -- identity -------------------------------------------------------------------------

    async def register(self, email: str = "ada@example.com") -> UserId:
        """Register a user (must succeed) and return its id."""
        user_id = uuid4()
        assert await register(self.factory, context_for(self.tenant), email, user_id) is (
            Outcome.APPLIED
        )
        return UserId(user_id)

    async def change_profile(self, user_id: UserId, name: str) -> Outcome:
        command = ChangeProfileCommand(user_id, name)
        return await self.run("ChangeProfile", user_id, self._timed(change_profile, command))

    async def deactivate(self, user_id: UserId) -> Outcome:
        command = DeactivateUserCommand(user_id)
        return await self.run("DeactivateUser", user_id, self._timed(deactivate_user, command))

    async def assign_role(self, user_id: UserId, role: Role) -> Outcome:
        command = AssignRoleCommand(user_id, role)
        return await self.run("AssignRole", user_id, self._timed(assign_role, command))

    # -- catalog --------------------------------------------------------------------------

    async def create_item(
        self,
        item_id: ItemId | None = None,
        *,
        price: Money = EUR,
        stock: int = 10,
        name: str = "Analytical Engine",
    ) -> tuple[Outcome, ItemId]:
        item_id = item_id or ItemId.new()
        command = CreateItemCommand(self.tenant, item_id, name, price, stock)
        return await self.run("CreateItem", item_id, self._timed(create_item, command)), item_id

    async def change_price(self, item_id: ItemId, price: Money) -> Outcome:
        command = ChangePriceCommand(item_id, price)
        return await self.run("ChangePrice", item_id, self._timed(change_price, command))

    async def adjust_stock(self, item_id: ItemId, delta: int) -> Outcome:
        command = AdjustStockCommand(item_id, delta, "counted")
        return await self.run("AdjustStock", item_id, self._timed(adjust_stock, command))

    async def retire(self, item_id: ItemId) -> Outcome:
        command = RetireItemCommand(item_id)
        return await self.run("RetireItem", item_id, self._timed(retire_item, command))

    # -- orders ---------------------------------------------------------------------------

    async def place(
        self, customer: UserId, order_id: OrderId | None = None, currency: str = "EUR"
    ) -> tuple[Outcome, OrderId]:
        order_id = order_id or OrderId.new()
        command = PlaceOrderCommand(self.tenant, order_id, customer, currency)
        return await self.run("PlaceOrder", order_id, self._ordered(place_order, command)), order_id

    async def add_line(self, order_id: OrderId, item_id: ItemId, quantity: int = 1) -> Outcome:
        command = AddLineCommand(order_id, item_id, quantity)
        return await self.run("AddLine", order_id, self._ordered(add_line, command))

    async def remove_line(self, order_id: OrderId, item_id: ItemId) -> Outcome:
        command = RemoveLineCommand(order_id, item_id)
        return await self.run("RemoveLine", order_id, self._ordered(remove_line, command))

    async def confirm(self, order_id: OrderId) -> Outcome:
        command = ConfirmOrderCommand(order_id)
        return await self.run("ConfirmOrder", order_id, self._ordered(confirm_order, command))

    async def cancel(self, order_id: OrderId, reason: str = "changed my mind") -> Outcome:
        command = CancelOrderCommand(order_id, reason)
        return await self.run("CancelOrder", order_id, self._ordered(cancel_order, command))

    async def ship(self, order_id: OrderId) -> Outcome:
        command = ShipOrderCommand(order_id)
        return await self.run("ShipOrder", order_id, self._ordered(ship_order, command))

    async def ordered_item(self, customer: UserId, quantity: int = 2) -> tuple[OrderId, ItemId]:
        """A placed order with one line of a fresh item (all steps must succeed)."""
        outcome, item_id = await self.create_item()
        assert outcome is Outcome.APPLIED
        outcome, order_id = await self.place(customer)
        assert outcome is Outcome.APPLIED
        assert await self.add_line(order_id, item_id, quantity) is Outcome.APPLIED
        return order_id, item_id

    # -- billing --------------------------------------------------------------------------

    async def react(
        self, event: OrderConfirmedV1 | OrderCancelledV1, *, message_id: UUID | None = None
    ) -> Outcome:
        """Feed an order event to the billing policy, as its consumer would."""
        envelope = Envelope.new(
            type=event.message_type,
            source="/tests",
            tenant_id=self.tenant.value,
            subject=str(event.order_id),
        )
        handler = self._timed(apply_billing_policy, order_fact_of(event, envelope))
        return await self.run(
            event.message_type,
            event.order_id,
            handler,
            message_id=message_id,
            consumer="tests.billing-policy",
            rejects=False,
        )

    async def capture(self, invoice_id: InvoiceId, amount: Money, reference: str) -> Outcome:
        command = CapturePaymentCommand(invoice_id, amount, reference)
        return await self.run("CapturePayment", invoice_id, self._timed(capture_payment, command))

    # -- reading back ---------------------------------------------------------------------

    async def read[T](self, reader: Callable[[UnitOfWork], Awaitable[T]]) -> T:
        """Run ``reader`` in a fresh unit of work of the tenant (nothing is committed)."""
        async with self.factory(context_for(self.tenant)) as uow:
            return await reader(uow)

    async def user(self, user_id: UserId) -> User | None:
        return await self.read(lambda uow: uow.users.get(user_id))

    async def item(self, item_id: ItemId) -> Item | None:
        return await self.read(lambda uow: uow.items.get(item_id))

    async def invoice(self, invoice_id: InvoiceId) -> Invoice | None:
        return await self.read(lambda uow: uow.invoices.get(invoice_id))

    async def order(self, order_id: OrderId) -> Order | None:
        def load(uow: UnitOfWork) -> Awaitable[Order | None]:
            orders = order_repository(uow.events, snapshot_every=self.snapshot_every)
            return orders.load(order_id.value)

        return await self.read(load)
