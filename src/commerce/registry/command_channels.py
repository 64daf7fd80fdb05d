"""The command channels of issue #4: one point-to-point channel per command type.

``REGISTER_USER`` lives in :mod:`commerce.platform.messaging.channels` with the channel types; the
other commands of the four bounded contexts are declared here, grouped by context.
"""

from __future__ import annotations

from commerce.platform.messaging.channels import (
    EVENT_SOURCED_COMMAND_RETRY,
    PAYMENT_RETRY,
    CommandChannel,
)

__all__ = [
    "ADD_LINE",
    "ADJUST_STOCK",
    "ASSIGN_ROLE",
    "CANCEL_ORDER",
    "CAPTURE_PAYMENT",
    "CHANGE_PRICE",
    "CHANGE_PROFILE",
    "CONFIRM_ORDER",
    "CREATE_ITEM",
    "DEACTIVATE_USER",
    "PLACE_ORDER",
    "REMOVE_LINE",
    "RETIRE_ITEM",
    "SHIP_ORDER",
]

# identity
CHANGE_PROFILE = CommandChannel(
    name="commerce.identity.change-profile",
    description="Change the profile (display name) of a user.",
)
DEACTIVATE_USER = CommandChannel(
    name="commerce.identity.deactivate-user",
    description="Deactivate a user account: it can no longer place orders or be changed.",
)
ASSIGN_ROLE = CommandChannel(
    name="commerce.identity.assign-role",
    description="Give a user a role (customer, staff, admin).",
)

# catalog
CREATE_ITEM = CommandChannel(
    name="commerce.catalog.create-item",
    description="Add an item to a tenant's catalogue, with a price and an initial stock.",
)
CHANGE_PRICE = CommandChannel(
    name="commerce.catalog.change-price",
    description="Set a new price of an active catalogue item (same currency).",
)
ADJUST_STOCK = CommandChannel(
    name="commerce.catalog.adjust-stock",
    description="Add to or take from an item's stock; the stock never goes below zero.",
)
RETIRE_ITEM = CommandChannel(
    name="commerce.catalog.retire-item",
    description="Withdraw an item from sale: its price freezes and it cannot be ordered.",
)

# orders
PLACE_ORDER = CommandChannel(
    name="commerce.orders.place-order",
    description="Open an order for an active customer, in one currency.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)
ADD_LINE = CommandChannel(
    name="commerce.orders.add-line",
    description="Add a line for an active catalogue item to a placed order, at its price now.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)
REMOVE_LINE = CommandChannel(
    name="commerce.orders.remove-line",
    description="Remove an item's line from a placed order.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)
CONFIRM_ORDER = CommandChannel(
    name="commerce.orders.confirm-order",
    description="Confirm a placed order with at least one line; billing then invoices it.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)
CANCEL_ORDER = CommandChannel(
    name="commerce.orders.cancel-order",
    description="Cancel a placed or confirmed order (before shipping); voids its invoice.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)
SHIP_ORDER = CommandChannel(
    name="commerce.orders.ship-order",
    description="Record that a confirmed order left the warehouse.",
    retry=EVENT_SOURCED_COMMAND_RETRY,
)

# billing
CAPTURE_PAYMENT = CommandChannel(
    name="commerce.billing.capture-payment",
    description="Settle an issued invoice with a payment of exactly its amount.",
    retry=PAYMENT_RETRY,
)
