"""The Invoice aggregate and the billing policy."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commerce.billing.domain.errors import InvoiceAlreadySettled, PaymentAmountMismatch
from commerce.billing.domain.events import InvoiceIssued, InvoiceVoided, PaymentCaptured
from commerce.billing.domain.invoice import Invoice, InvoiceStatus
from commerce.billing.domain.policy import (
    IssueInvoice,
    OrderCancelledFact,
    OrderConfirmedFact,
    VoidInvoice,
    invoice_policy,
)
from commerce.platform.kit.errors import IllegalTransition, InvalidValue
from commerce.platform.kit.ids import InvoiceId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TENANT = TenantId(uuid4())
TOTAL = Money(4200, "EUR")


def _invoice(amount: Money = TOTAL) -> Invoice:
    order_id = OrderId.new()
    return Invoice.issue(
        invoice_id=InvoiceId.for_order(order_id),
        tenant_id=TENANT,
        order_id=order_id,
        customer_id=UserId.new(),
        amount=amount,
        now=NOW,
    )


def test_issuing_records_the_amount() -> None:
    invoice = _invoice()
    [event] = invoice.collect_events()
    assert isinstance(event, InvoiceIssued)
    assert (event.amount, event.version, invoice.status) == (TOTAL, 1, InvoiceStatus.ISSUED)


@pytest.mark.parametrize("amount", [Money(0, "EUR"), Money(-1, "EUR")])
def test_invoices_are_for_positive_amounts(amount: Money) -> None:
    with pytest.raises(InvalidValue):
        _invoice(amount)


def test_capturing_settles_once_and_repeats_with_the_same_reference_are_no_ops() -> None:
    invoice = _invoice()
    invoice.collect_events()
    invoice.capture_payment(amount=TOTAL, reference="psp-1", now=NOW)
    invoice.capture_payment(amount=TOTAL, reference="psp-1", now=NOW)
    [event] = invoice.collect_events()
    assert isinstance(event, PaymentCaptured)
    assert (event.reference, event.version) == ("psp-1", 2)
    assert invoice.is_settled
    with pytest.raises(InvoiceAlreadySettled):
        invoice.capture_payment(amount=TOTAL, reference="psp-2", now=NOW)


@pytest.mark.parametrize("amount", [Money(4199, "EUR"), Money(4200, "USD")])
def test_payments_must_match_the_invoice(amount: Money) -> None:
    invoice = _invoice()
    with pytest.raises(PaymentAmountMismatch):
        invoice.capture_payment(amount=amount, reference="psp-1", now=NOW)
    assert invoice.status is InvoiceStatus.ISSUED


def test_voiding_an_unpaid_invoice_is_recorded_once() -> None:
    invoice = _invoice()
    invoice.collect_events()
    invoice.void(reason="order cancelled", now=NOW)
    invoice.void(reason="order cancelled", now=NOW)
    [event] = invoice.collect_events()
    assert isinstance(event, InvoiceVoided)
    assert invoice.status is InvoiceStatus.VOIDED
    with pytest.raises(IllegalTransition):
        invoice.capture_payment(amount=TOTAL, reference="psp-1", now=NOW)


def test_a_paid_invoice_cannot_be_voided() -> None:
    invoice = _invoice()
    invoice.capture_payment(amount=TOTAL, reference="psp-1", now=NOW)
    with pytest.raises(InvoiceAlreadySettled, match="refunds"):
        invoice.void(reason="order cancelled", now=NOW)


def test_references_and_reasons_are_required() -> None:
    with pytest.raises(InvalidValue):
        _invoice().capture_payment(amount=TOTAL, reference=" ", now=NOW)
    with pytest.raises(InvalidValue):
        _invoice().void(reason="", now=NOW)


def _cancelled(order_id: OrderId, *, was_confirmed: bool) -> OrderCancelledFact:
    return OrderCancelledFact(
        tenant_id=TENANT, order_id=order_id, reason="changed my mind", was_confirmed=was_confirmed
    )


def test_the_policy_invoices_a_confirmed_order_for_its_total() -> None:
    order_id, customer_id = OrderId.new(), UserId.new()
    confirmed = OrderConfirmedFact(
        tenant_id=TENANT, order_id=order_id, customer_id=customer_id, total=TOTAL
    )
    assert invoice_policy(confirmed) == IssueInvoice(
        tenant_id=TENANT,
        invoice_id=InvoiceId.for_order(order_id),
        order_id=order_id,
        customer_id=customer_id,
        amount=TOTAL,
    )


def test_the_policy_voids_the_invoice_of_a_cancelled_confirmed_order() -> None:
    order_id = OrderId.new()
    assert invoice_policy(_cancelled(order_id, was_confirmed=True)) == VoidInvoice(
        tenant_id=TENANT,
        invoice_id=InvoiceId.for_order(order_id),
        order_id=order_id,
        reason="changed my mind",
    )


def test_the_policy_ignores_orders_cancelled_before_they_were_invoiced() -> None:
    assert invoice_policy(_cancelled(OrderId.new(), was_confirmed=False)) is None


def test_the_invoice_id_of_an_order_is_deterministic() -> None:
    order_id = OrderId.new()
    assert InvoiceId.for_order(order_id) == InvoiceId.for_order(order_id)
    assert InvoiceId.for_order(order_id) != InvoiceId.for_order(OrderId.new())
