"""FastStream subscribers of the billing context: ``CapturePayment`` and the billing policy.

The billing policy is an ordered consumer of the orders stream (``BILLING_POLICY``): each
order's events arrive one at a time in version order, and each runs through
``Service.execute`` (inbox, transaction, outbox), so a redelivery or a restart in the
middle never issues a second invoice. Of the order events it acts on ``OrderConfirmed``
and ``OrderCancelled``, read as billing's own facts of the order
(:func:`~commerce.billing.messages.order_translation.order_fact_of`); the other known
order events are acknowledged and ignored (not set aside as ``skipped``), while an event
type it does not know at all, such as a future ``.v2``, still goes to ``skipped`` where an
operator sees it.
"""

from functools import partial

from commerce.billing.application.ports import BillingUnitOfWork
from commerce.billing.application.use_cases import (
    CapturePaymentCommand,
    apply_billing_policy,
    capture_payment,
)
from commerce.billing.messages.channels import BILLING_POLICY, CAPTURE_PAYMENT
from commerce.billing.messages.commands import CapturePayment
from commerce.billing.messages.order_translation import order_fact_of
from commerce.orders.messages.events import (
    OrderCancelledV1,
    OrderConfirmedV1,
    OrderLineAddedV1,
    OrderLineRemovedV1,
    OrderPlacedV1,
    OrderShippedV1,
)
from commerce.platform.kit.ids import InvoiceId
from commerce.platform.messaging.subscribing import CurrentEnvelope, handles
from commerce.platform.messaging.transport import AnyRouter
from commerce.platform.transactions.intake import MessageIntake
from commerce.platform.transactions.ports import Clock

__all__ = ["billing_router"]


def billing_router(intake: MessageIntake[BillingUnitOfWork], *, clock: Clock) -> AnyRouter:
    """The ``CapturePayment`` handler and the billing policy (process manager)."""
    router = intake.router()

    @intake.command_subscriber(router, CAPTURE_PAYMENT)
    async def on_capture_payment(body: CapturePayment, envelope: CurrentEnvelope) -> None:
        """Settle an invoice (``CapturePayment.v1``)."""
        command = CapturePaymentCommand(
            InvoiceId(body.invoice_id), body.amount.to_money(), body.reference
        )
        handler = partial(capture_payment, command, clock=clock)
        await intake.execute(CAPTURE_PAYMENT, envelope, body, handler)

    policy = intake.event_subscriber(router, BILLING_POLICY)

    @handles(policy, OrderConfirmedV1)
    async def on_order_confirmed(body: OrderConfirmedV1, envelope: CurrentEnvelope) -> None:
        """Issue the order's invoice (``OrderConfirmed.v1``)."""
        handler = partial(apply_billing_policy, order_fact_of(body, envelope), clock=clock)
        await intake.execute(BILLING_POLICY, envelope, body, handler)

    @handles(policy, OrderCancelledV1)
    async def on_order_cancelled(body: OrderCancelledV1, envelope: CurrentEnvelope) -> None:
        """Void the invoice of a confirmed order (``OrderCancelled.v1``)."""
        handler = partial(apply_billing_policy, order_fact_of(body, envelope), clock=clock)
        await intake.execute(BILLING_POLICY, envelope, body, handler)

    @handles(policy, OrderPlacedV1, OrderLineAddedV1, OrderLineRemovedV1, OrderShippedV1)
    async def on_other_order_event(body: dict[str, object], envelope: CurrentEnvelope) -> None:
        """Order events billing does not act on: acknowledged, nothing to do."""

    return router
