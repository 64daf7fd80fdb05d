"""FastStream subscribers of the catalog context: one tiny handler per command."""

from functools import partial

from commerce.catalog.application.ports import CatalogUnitOfWork
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
from commerce.catalog.messages.channels import ADJUST_STOCK, CHANGE_PRICE, CREATE_ITEM, RETIRE_ITEM
from commerce.catalog.messages.commands import AdjustStock, ChangePrice, CreateItem, RetireItem
from commerce.platform.kit.ids import ItemId, TenantId
from commerce.platform.messaging.subscribing import CurrentEnvelope
from commerce.platform.messaging.transport import AnyRouter
from commerce.platform.transactions.intake import MessageIntake
from commerce.platform.transactions.ports import Clock

__all__ = ["catalog_router"]


def catalog_router(intake: MessageIntake[CatalogUnitOfWork], *, clock: Clock) -> AnyRouter:
    """Subscribers of the catalog context."""
    router = intake.router()

    @intake.command_subscriber(router, CREATE_ITEM)
    async def on_create_item(body: CreateItem, envelope: CurrentEnvelope) -> None:
        """Add an item to the catalogue (``CreateItem.v1``)."""
        command = CreateItemCommand(
            tenant_id=TenantId(envelope.tenant_id),
            item_id=ItemId(body.item_id),
            name=body.name,
            price=body.price.to_money(),
            stock=body.stock,
        )
        await intake.execute(
            CREATE_ITEM, envelope, body, partial(create_item, command, clock=clock)
        )

    @intake.command_subscriber(router, CHANGE_PRICE)
    async def on_change_price(body: ChangePrice, envelope: CurrentEnvelope) -> None:
        """Give an item a new price (``ChangePrice.v1``)."""
        command = ChangePriceCommand(ItemId(body.item_id), body.price.to_money())
        handler = partial(change_price, command, clock=clock)
        await intake.execute(CHANGE_PRICE, envelope, body, handler)

    @intake.command_subscriber(router, ADJUST_STOCK)
    async def on_adjust_stock(body: AdjustStock, envelope: CurrentEnvelope) -> None:
        """Add to or take from an item's stock (``AdjustStock.v1``)."""
        command = AdjustStockCommand(ItemId(body.item_id), body.delta, body.reason)
        handler = partial(adjust_stock, command, clock=clock)
        await intake.execute(ADJUST_STOCK, envelope, body, handler)

    @intake.command_subscriber(router, RETIRE_ITEM)
    async def on_retire_item(body: RetireItem, envelope: CurrentEnvelope) -> None:
        """Withdraw an item from sale (``RetireItem.v1``)."""
        command = RetireItemCommand(ItemId(body.item_id))
        await intake.execute(
            RETIRE_ITEM, envelope, body, partial(retire_item, command, clock=clock)
        )

    return router
