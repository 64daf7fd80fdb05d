"""The pipeline's workloads: the headline catalogue and order mix, and RegisterUser alone.

The mix is the event-sourced path with no password hashing: ``CreateItem`` (catalogue)
and ``PlaceOrder`` (orders), alternating, spread over the tenants. An order needs an
active customer, so each tenant's customer is registered first (:attr:`Workload.setup`,
applied and projected before the measured commands are sent; its hashing is not measured).
Every measured command appends one event (``ItemCreated`` to the item stream,
``OrderPlaced`` to the order stream), projected by ``item-availability`` and
``order-summaries`` respectively (one projection per stream, so projected events and
published events count alike).

``RegisterUser`` alone is reported on its own line: it hashes a password (at the bench's
cheap argon2 parameters) in each command.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from uuid import UUID, uuid4

from scripts.bench.messages import Command, command_of, register_user

from commerce.catalog.messages.channels import CREATE_ITEM, ITEM_AVAILABILITY
from commerce.catalog.messages.commands import CreateItem
from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY
from commerce.orders.messages.channels import ORDER_SUMMARIES, PLACE_ORDER
from commerce.orders.messages.commands import PlaceOrder
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.money import MoneyPayload

__all__ = ["Workload", "register_users", "shop_mix"]


@dataclass(frozen=True, slots=True)
class Workload:
    """Commands to measure, what must be applied before them, and who consumes them."""

    name: str
    commands: list[Command]
    consumers: tuple[str, ...]
    """The command consumers whose inbox rows count the applied commands."""
    projections: tuple[str, ...]
    """One projection per stream: its inbox rows count the projected events."""
    setup: list[Command] = field(default_factory=list)
    setup_consumers: tuple[str, ...] = ()
    setup_projections: tuple[str, ...] = ()


def shop_mix(tenants: Sequence[UUID], count: int, style: HeaderStyle) -> Workload:
    """``count`` commands alternating CreateItem and PlaceOrder over ``tenants``."""
    customers = {tenant: uuid4() for tenant in tenants}
    setup = [
        register_user(tenant, index, style, user_id=customers[tenant])
        for index, tenant in enumerate(tenants)
    ]
    price = MoneyPayload(amount=1999, currency="EUR")
    commands = []
    for index in range(count):
        tenant = tenants[index % len(tenants)]
        if index % 2 == 0:
            item = CreateItem(item_id=uuid4(), name=f"Bench item {index}", price=price, stock=10)
            commands.append(command_of(CREATE_ITEM.name, item, tenant, style))
        else:
            order = PlaceOrder(order_id=uuid4(), customer_id=customers[tenant], currency="EUR")
            commands.append(command_of(PLACE_ORDER.name, order, tenant, style))
    return Workload(
        name="catalogue and orders",
        commands=commands,
        consumers=(CREATE_ITEM.consumer, PLACE_ORDER.consumer),
        projections=(ITEM_AVAILABILITY.consumer, ORDER_SUMMARIES.consumer),
        setup=setup,
        setup_consumers=(REGISTER_USER.consumer,),
        setup_projections=(USER_DIRECTORY.consumer,),
    )


def register_users(tenants: Sequence[UUID], count: int, style: HeaderStyle) -> Workload:
    """``count`` RegisterUser commands over ``tenants`` (fresh users, unique e-mails)."""
    commands = [register_user(tenants[i % len(tenants)], i, style) for i in range(count)]
    return Workload(
        name="RegisterUser",
        commands=commands,
        consumers=(REGISTER_USER.consumer,),
        projections=(USER_DIRECTORY.consumer,),
    )
