"""FastStream subscribers of the orders context: one tiny handler per command.

Orders are event sourced; a version conflict between two commands on one order is an
ordinary failure here, so the consumer's failure policy retries the command at once
(``RetryPolicy.immediate``), re-running the whole transaction on the winner's events.
"""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from commerce.orders.application.ports import OrdersUnitOfWork
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
    place_order,
    remove_line,
    ship_order,
)
from commerce.orders.messages.channels import (
    ADD_LINE,
    CANCEL_ORDER,
    CONFIRM_ORDER,
    PLACE_ORDER,
    REMOVE_LINE,
    SHIP_ORDER,
)
from commerce.orders.messages.commands import (
    AddLine,
    CancelOrder,
    ConfirmOrder,
    PlaceOrder,
    RemoveLine,
    ShipOrder,
)
from commerce.platform.kit.ids import ItemId, OrderId, TenantId, UserId
from commerce.platform.messaging.channels import CommandChannel
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.subscribing import CurrentEnvelope
from commerce.platform.messaging.transport import AnyRouter
from commerce.platform.transactions.intake import MessageIntake
from commerce.platform.transactions.ports import Clock

__all__ = ["orders_router"]


def orders_router(
    intake: MessageIntake[OrdersUnitOfWork], *, clock: Clock, snapshot_every: int
) -> AnyRouter:
    """Subscribers of the orders context."""
    router = intake.router()

    async def run(
        channel: CommandChannel,
        envelope: Envelope,
        body: Command,
        use_case: Callable[..., Awaitable[None]],
        command: Any,
    ) -> None:
        """Run an order use case with the clock and the snapshot interval."""
        handler: Callable[[OrdersUnitOfWork], Awaitable[None]] = partial(
            use_case, command, clock=clock, snapshot_every=snapshot_every
        )
        await intake.execute(channel, envelope, body, handler)

    @intake.command_subscriber(router, PLACE_ORDER)
    async def on_place_order(body: PlaceOrder, envelope: CurrentEnvelope) -> None:
        """Open an order (``PlaceOrder.v1``)."""
        command = PlaceOrderCommand(
            tenant_id=TenantId(envelope.tenant_id),
            order_id=OrderId(body.order_id),
            customer_id=UserId(body.customer_id),
            currency=body.currency,
        )
        await run(PLACE_ORDER, envelope, body, place_order, command)

    @intake.command_subscriber(router, ADD_LINE)
    async def on_add_line(body: AddLine, envelope: CurrentEnvelope) -> None:
        """Add a line to a placed order (``AddLine.v1``)."""
        command = AddLineCommand(OrderId(body.order_id), ItemId(body.item_id), body.quantity)
        await run(ADD_LINE, envelope, body, add_line, command)

    @intake.command_subscriber(router, REMOVE_LINE)
    async def on_remove_line(body: RemoveLine, envelope: CurrentEnvelope) -> None:
        """Remove a line from a placed order (``RemoveLine.v1``)."""
        command = RemoveLineCommand(OrderId(body.order_id), ItemId(body.item_id))
        await run(REMOVE_LINE, envelope, body, remove_line, command)

    @intake.command_subscriber(router, CONFIRM_ORDER)
    async def on_confirm_order(body: ConfirmOrder, envelope: CurrentEnvelope) -> None:
        """Confirm a placed order (``ConfirmOrder.v1``)."""
        command = ConfirmOrderCommand(OrderId(body.order_id))
        await run(CONFIRM_ORDER, envelope, body, confirm_order, command)

    @intake.command_subscriber(router, CANCEL_ORDER)
    async def on_cancel_order(body: CancelOrder, envelope: CurrentEnvelope) -> None:
        """Cancel a placed or confirmed order (``CancelOrder.v1``)."""
        command = CancelOrderCommand(OrderId(body.order_id), body.reason)
        await run(CANCEL_ORDER, envelope, body, cancel_order, command)

    @intake.command_subscriber(router, SHIP_ORDER)
    async def on_ship_order(body: ShipOrder, envelope: CurrentEnvelope) -> None:
        """Ship a confirmed order (``ShipOrder.v1``)."""
        command = ShipOrderCommand(OrderId(body.order_id))
        await run(SHIP_ORDER, envelope, body, ship_order, command)

    return router
