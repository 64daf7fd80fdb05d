"""The billing context's channels: its command channel, its event stream, its process manager."""

from __future__ import annotations

from commerce.orders.messages.channels import ORDERS
from commerce.platform.messaging.channels import (
    PROCESS_MANAGER_RETRY,
    CommandChannel,
    EventConsumer,
    EventStream,
    RetryPolicy,
)

__all__ = ["BILLING_POLICY", "CAPTURE_PAYMENT", "INVOICES", "PAYMENT_RETRY"]


PAYMENT_RETRY = RetryPolicy(
    immediate=1, initial_delay=5.0, multiplier=4.0, max_delay=900.0, rounds=5
)
"""Billing commands: money is at stake, so a capture is not given up after a one-minute
outage; few immediate tries, then about 5 s, 20 s, 80 s, 320 s and 900 s (≈ 22 min)."""


INVOICES = EventStream(
    name="commerce.billing.invoice",
    aggregate_type="billing.invoice",
    description="Integration events of invoices, keyed by invoice id.",
)


BILLING_POLICY = EventConsumer(
    name="commerce.billing.invoice-policy",
    stream=ORDERS,
    description="The billing process manager: issues an order's invoice when the order is "
    "confirmed and voids it when a confirmed order is cancelled.",
    retry=PROCESS_MANAGER_RETRY,
)


# billing
CAPTURE_PAYMENT = CommandChannel(
    name="commerce.billing.capture-payment",
    description="Settle an issued invoice with a payment of exactly its amount.",
    retry=PAYMENT_RETRY,
)
