"""Properties of the Invoice aggregate and the billing policy."""

from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.billing.domain.events import PaymentCaptured
from commerce.billing.domain.invoice import Invoice, InvoiceStatus
from commerce.billing.domain.policy import (
    IssueInvoice,
    OrderCancelledFact,
    OrderConfirmedFact,
    VoidInvoice,
    invoice_policy,
)
from commerce.platform.kit.errors import DomainError
from commerce.platform.kit.ids import InvoiceId, OrderId, TenantId, UserId
from commerce.platform.kit.money import Money

pytestmark = pytest.mark.property

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
AMOUNT = Money(4200, "EUR")
LEGAL_MOVES = {
    (InvoiceStatus.ISSUED, InvoiceStatus.PAID),
    (InvoiceStatus.ISSUED, InvoiceStatus.VOIDED),
}

COMMANDS = st.lists(
    st.one_of(
        st.tuples(
            st.just("capture"), st.sampled_from(["psp-1", "psp-2"]), st.sampled_from([4200, 4199])
        ),
        st.tuples(st.just("void"), st.just(""), st.just(0)),
    ),
    max_size=12,
)


def _invoice() -> Invoice:
    order_id = OrderId.new()
    return Invoice.issue(
        invoice_id=InvoiceId.for_order(order_id),
        tenant_id=TenantId(uuid4()),
        order_id=order_id,
        customer_id=UserId.new(),
        amount=AMOUNT,
        now=NOW,
    )


@given(COMMANDS)
def test_an_invoice_is_settled_at_most_once_and_never_voided_after(
    commands: list[tuple[str, str, int]],
) -> None:
    """Property: under any sequence of captures and voids, only issued → paid or issued →
    voided happen, at most one PaymentCaptured of exactly the amount is recorded, refused
    commands change nothing, and versions are consecutive."""
    invoice = _invoice()
    moves = []
    for name, reference, cents in commands:
        before = (invoice.status, invoice.version, len(invoice.pending_events))
        try:
            if name == "capture":
                invoice.capture_payment(amount=Money(cents, "EUR"), reference=reference, now=NOW)
            else:
                invoice.void(reason="order cancelled", now=NOW)
        except DomainError:
            assert (invoice.status, invoice.version, len(invoice.pending_events)) == before
        if invoice.status is not before[0]:
            moves.append((before[0], invoice.status))
    assert set(moves) <= LEGAL_MOVES
    assert len(moves) <= 1
    captures = [e for e in invoice.pending_events if isinstance(e, PaymentCaptured)]
    assert len(captures) == (1 if invoice.is_settled else 0)
    assert all(e.amount == AMOUNT for e in captures)
    assert [e.version for e in invoice.pending_events] == list(range(1, invoice.version + 1))


@given(
    order_id=st.uuids(),
    tenant=st.uuids(),
    cents=st.integers(1, 10**9),
    was_confirmed=st.booleans(),
)
def test_the_policy_bills_confirmations_and_voids_only_what_was_billed(
    order_id: UUID, tenant: UUID, cents: int, was_confirmed: bool
) -> None:
    """Property: a confirmed order → IssueInvoice for its total; a cancelled order →
    VoidInvoice of the same invoice iff the order had been confirmed; both pure and
    deterministic."""
    oid, tid = OrderId(order_id), TenantId(tenant)
    confirmed = OrderConfirmedFact(
        tenant_id=tid, order_id=oid, customer_id=UserId.new(), total=Money(cents, "EUR")
    )
    cancelled = OrderCancelledFact(
        tenant_id=tid, order_id=oid, reason="r", was_confirmed=was_confirmed
    )
    issue = invoice_policy(confirmed)
    assert isinstance(issue, IssueInvoice)
    assert issue == invoice_policy(confirmed)
    assert (issue.amount, issue.order_id, issue.tenant_id) == (confirmed.total, oid, tid)
    assert issue.customer_id == confirmed.customer_id
    void = invoice_policy(cancelled)
    assert void == invoice_policy(cancelled)
    if was_confirmed:
        assert isinstance(void, VoidInvoice)
        assert (void.invoice_id, void.order_id, void.tenant_id) == (issue.invoice_id, oid, tid)
    else:
        assert void is None
