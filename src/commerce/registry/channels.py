"""Every channel of the published contract, with the message types it carries.

The AsyncAPI documents are built from this catalogue and from the FastStream subscribers;
the generator refuses a subscriber whose payload model disagrees with its route here, and
the unit tests refuse a command or integration event missing from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.billing.messages.channels import BILLING_POLICY, CAPTURE_PAYMENT, INVOICES
from commerce.billing.messages.commands import CapturePayment
from commerce.billing.messages.events import InvoiceIssuedV1, InvoiceVoidedV1, PaymentCapturedV1
from commerce.catalog.messages.channels import (
    ADJUST_STOCK,
    CHANGE_PRICE,
    CREATE_ITEM,
    ITEM_AVAILABILITY,
    ITEMS,
    RETIRE_ITEM,
)
from commerce.catalog.messages.commands import AdjustStock, ChangePrice, CreateItem, RetireItem
from commerce.catalog.messages.events import (
    ItemCreatedV1,
    ItemPriceChangedV1,
    ItemRetiredV1,
    StockAdjustedV1,
)
from commerce.identity.messages.channels import (
    ASSIGN_ROLE,
    CHANGE_PROFILE,
    DEACTIVATE_USER,
    REGISTER_USER,
    USER_DIRECTORY,
    USERS,
)
from commerce.identity.messages.commands import (
    AssignRole,
    ChangeProfile,
    DeactivateUser,
    RegisterUser,
)
from commerce.identity.messages.events import (
    RoleAssignedV1,
    UserDeactivatedV1,
    UserProfileChangedV1,
    UserRegisteredV1,
)
from commerce.orders.messages.channels import (
    ADD_LINE,
    CANCEL_ORDER,
    CONFIRM_ORDER,
    ORDER_SUMMARIES,
    ORDERS,
    PLACE_ORDER,
    REMOVE_LINE,
    REVENUE,
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
from commerce.orders.messages.events import (
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderLineAddedV1,
    OrderLineRemovedV1,
    OrderPlacedV1,
    OrderShippedV1,
)
from commerce.platform.messaging.channels import (
    FAULTS,
    REJECTIONS,
    CommandChannel,
    Consumer,
    EventConsumer,
    EventStream,
)
from commerce.platform.messaging.command_faults import CommandFaultedV1
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.rejections import CommandRejectedV1
from commerce.search.messages.channels import ITEM_SEARCH

__all__ = [
    "COMMANDS_BY_NAME",
    "COMMAND_CHANNELS",
    "COMMAND_ROUTES",
    "CONSUMERS",
    "EVENT_CONSUMERS",
    "EVENT_STREAMS",
    "INTEGRATION_EVENTS",
    "CommandRoute",
    "events_on",
    "route_of",
]


@dataclass(frozen=True, slots=True)
class CommandRoute:
    """One command type and the point-to-point channel that carries it."""

    channel: CommandChannel
    command: type[Command]


COMMAND_ROUTES: tuple[CommandRoute, ...] = (
    CommandRoute(REGISTER_USER, RegisterUser),
    CommandRoute(CHANGE_PROFILE, ChangeProfile),
    CommandRoute(DEACTIVATE_USER, DeactivateUser),
    CommandRoute(ASSIGN_ROLE, AssignRole),
    CommandRoute(CREATE_ITEM, CreateItem),
    CommandRoute(CHANGE_PRICE, ChangePrice),
    CommandRoute(ADJUST_STOCK, AdjustStock),
    CommandRoute(RETIRE_ITEM, RetireItem),
    CommandRoute(PLACE_ORDER, PlaceOrder),
    CommandRoute(ADD_LINE, AddLine),
    CommandRoute(REMOVE_LINE, RemoveLine),
    CommandRoute(CONFIRM_ORDER, ConfirmOrder),
    CommandRoute(CANCEL_ORDER, CancelOrder),
    CommandRoute(SHIP_ORDER, ShipOrder),
    CommandRoute(CAPTURE_PAYMENT, CapturePayment),
)
"""Every command the service consumes, in the order the documents list them."""

COMMAND_CHANNELS: tuple[CommandChannel, ...] = tuple(route.channel for route in COMMAND_ROUTES)
"""Every command channel (each has its consumer, retry channels and dead-letter archiver)."""

COMMANDS_BY_NAME: dict[str, type[Command]] = {
    route.command.__name__: route.command for route in COMMAND_ROUTES
}
"""Command payload types by name, for operators' tools."""

EVENT_STREAMS: tuple[EventStream, ...] = (USERS, ITEMS, ORDERS, INVOICES, REJECTIONS, FAULTS)
"""Every stream the service publishes to, in the order the documents list them."""

INTEGRATION_EVENTS: tuple[type[IntegrationEvent], ...] = (
    UserRegisteredV1,
    UserProfileChangedV1,
    UserDeactivatedV1,
    RoleAssignedV1,
    ItemCreatedV1,
    ItemPriceChangedV1,
    StockAdjustedV1,
    ItemRetiredV1,
    OrderPlacedV1,
    OrderLineAddedV1,
    OrderLineRemovedV1,
    OrderConfirmedV1,
    OrderCancelledV1,
    OrderShippedV1,
    InvoiceIssuedV1,
    PaymentCapturedV1,
    InvoiceVoidedV1,
    CommandRejectedV1,
    CommandFaultedV1,
)
"""Every integration event type, each published on its ``stream``."""


EVENT_CONSUMERS: tuple[EventConsumer, ...] = (
    USER_DIRECTORY,
    BILLING_POLICY,
    ORDER_SUMMARIES,
    REVENUE,
    ITEM_AVAILABILITY,
    ITEM_SEARCH,
)
"""Every ordered consumer of an event stream (projections and other downstream parts)."""

CONSUMERS: tuple[Consumer, ...] = (*COMMAND_CHANNELS, *EVENT_CONSUMERS)
"""Every consumer: each has retry, dead-letter and skipped channels and a DLQ archiver."""


def events_on(stream: EventStream) -> tuple[type[IntegrationEvent], ...]:
    """The integration event types published on ``stream``."""
    return tuple(event for event in INTEGRATION_EVENTS if event.stream == stream)


def route_of(command: type[Command]) -> CommandRoute:
    """The route of ``command``; :class:`LookupError` if it has none."""
    for route in COMMAND_ROUTES:
        if route.command is command:
            return route
    msg = f"no channel is catalogued for {command.__name__}"
    raise LookupError(msg)
