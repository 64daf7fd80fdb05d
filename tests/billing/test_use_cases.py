"""The billing policy and CapturePayment through ``process_command`` on the in-memory fakes."""

from datetime import UTC, datetime

import pytest

from commerce.billing.domain.events import InvoiceIssued, InvoiceVoided, PaymentCaptured
from commerce.billing.domain.invoice import InvoiceStatus
from commerce.orders.domain.events import OrderConfirmed
from commerce.orders.messages.events import OrderCancelledV1, OrderConfirmedV1, order_event_for
from commerce.platform.kit.errors import IllegalTransition
from commerce.platform.kit.ids import InvoiceId, OrderId, UserId, new_uuid7
from commerce.platform.kit.money import Money
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.transactions.processing import Outcome
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.scenario import Scenario

pytestmark = pytest.mark.unit

AT = datetime(2026, 1, 2, tzinfo=UTC)
TOTAL = Money(3998, "EUR")


@pytest.fixture
def factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def scenario(factory: InMemoryUnitOfWorkFactory) -> Scenario:
    return Scenario(factory)


def _confirmed(order_id: OrderId, customer: UserId) -> OrderConfirmedV1:
    return OrderConfirmedV1(
        order_id=order_id.value,
        customer_id=customer.value,
        total=MoneyPayload.of(TOTAL),
        confirmed_at=AT,
    )


def _cancelled(order_id: OrderId, previous: str) -> OrderCancelledV1:
    return OrderCancelledV1.model_validate(
        {
            "order_id": order_id.value,
            "previous_status": previous,
            "reason": "customer changed their mind",
            "cancelled_at": AT,
        }
    )


def _billing(factory: InMemoryUnitOfWorkFactory) -> list[type]:
    kinds = (InvoiceIssued, PaymentCaptured, InvoiceVoided)
    return [type(e) for e in factory.store.published if isinstance(e, kinds)]


async def test_a_confirmed_order_is_invoiced_once_for_its_total(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    order_id, customer = OrderId.new(), UserId.new()
    event, message_id = _confirmed(order_id, customer), new_uuid7()
    assert await scenario.react(event, message_id=message_id) is Outcome.APPLIED
    assert await scenario.react(event, message_id=message_id) is Outcome.DUPLICATE
    assert await scenario.react(event) is Outcome.APPLIED, "a re-published copy: no effect"

    invoice = await scenario.invoice(InvoiceId.for_order(order_id))
    assert invoice is not None
    assert (invoice.order_id, invoice.customer_id, invoice.amount) == (order_id, customer, TOTAL)
    assert invoice.status is InvoiceStatus.ISSUED
    assert _billing(factory) == [InvoiceIssued]


async def test_cancelling_a_confirmed_order_voids_its_invoice(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    order_id = OrderId.new()
    await scenario.react(_confirmed(order_id, UserId.new()))
    assert await scenario.react(_cancelled(order_id, "confirmed")) is Outcome.APPLIED
    assert await scenario.react(_cancelled(order_id, "confirmed")) is Outcome.APPLIED
    invoice = await scenario.invoice(InvoiceId.for_order(order_id))
    assert invoice is not None
    assert invoice.status is InvoiceStatus.VOIDED
    assert _billing(factory) == [InvoiceIssued, InvoiceVoided]


async def test_orders_cancelled_before_confirmation_bill_nothing(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    order_id = OrderId.new()
    assert await scenario.react(_cancelled(order_id, "placed")) is Outcome.APPLIED
    assert await scenario.invoice(InvoiceId.for_order(order_id)) is None
    assert _billing(factory) == []


async def test_a_payment_settles_the_invoice_once(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    order_id = OrderId.new()
    invoice_id = InvoiceId.for_order(order_id)
    await scenario.react(_confirmed(order_id, UserId.new()))
    assert await scenario.capture(invoice_id, Money(1, "EUR"), "psp-1") is Outcome.REJECTED
    assert await scenario.capture(invoice_id, TOTAL, "psp-1") is Outcome.APPLIED
    assert await scenario.capture(invoice_id, TOTAL, "psp-1") is Outcome.APPLIED, "a retry"
    assert await scenario.capture(invoice_id, TOTAL, "psp-2") is Outcome.REJECTED
    assert await scenario.capture(InvoiceId.new(), TOTAL, "psp-3") is Outcome.REJECTED
    assert [r.reason_code for r in factory.store.rejections] == [
        "payment_amount_mismatch",
        "invoice_already_settled",
        "invoice_not_found",
    ]
    invoice = await scenario.invoice(invoice_id)
    assert invoice is not None
    assert (invoice.status, invoice.payment_reference) == (InvoiceStatus.PAID, "psp-1")
    assert _billing(factory) == [InvoiceIssued, PaymentCaptured]


async def test_a_paid_invoice_stays_paid_when_its_order_is_cancelled(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    order_id = OrderId.new()
    invoice_id = InvoiceId.for_order(order_id)
    await scenario.react(_confirmed(order_id, UserId.new()))
    await scenario.capture(invoice_id, TOTAL, "psp-1")
    assert await scenario.react(_cancelled(order_id, "confirmed")) is Outcome.APPLIED
    invoice = await scenario.invoice(invoice_id)
    assert invoice is not None
    assert invoice.status is InvoiceStatus.PAID
    assert _billing(factory) == [InvoiceIssued, PaymentCaptured]


async def test_a_voided_invoice_cannot_be_paid(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    order_id = OrderId.new()
    await scenario.react(_confirmed(order_id, UserId.new()))
    await scenario.react(_cancelled(order_id, "confirmed"))
    invoice_id = InvoiceId.for_order(order_id)
    assert await scenario.capture(invoice_id, TOTAL, "psp-1") is Outcome.REJECTED
    assert [r.reason_code for r in factory.store.rejections] == [IllegalTransition.code]


async def test_the_whole_flow_from_commands_confirms_bills_and_voids(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    customer = await scenario.register()
    order_id, _ = await scenario.ordered_item(customer, quantity=2)
    await scenario.confirm(order_id)
    for event in [e for e in factory.store.published if isinstance(e, OrderConfirmed)]:
        published = order_event_for(event)
        assert isinstance(published, OrderConfirmedV1)
        await scenario.react(published)
    invoice = await scenario.invoice(InvoiceId.for_order(order_id))
    assert invoice is not None
    assert invoice.amount == Money(3998, "EUR")
