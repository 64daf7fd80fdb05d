"""Serialization round trips of every command, integration event and stored order event,
the mapper from domain events to integration events in every context, and billing's
reading of the order events it receives.

Each model's values are generated from its own field declarations, so a command or event
added to the catalogue is covered without touching this module.
"""

import dataclasses
import types
import typing
from datetime import UTC, datetime, timedelta, timezone
from enum import Enum
from typing import Any
from uuid import UUID

import annotated_types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import AwareDatetime, BaseModel, SecretStr
from pydantic.fields import FieldInfo

from commerce.billing.domain import events as billing_events
from commerce.billing.domain.policy import IssueInvoice, VoidInvoice, invoice_policy
from commerce.billing.messages.order_translation import order_fact_of
from commerce.catalog.domain import events as catalog_events
from commerce.identity.domain.values import EmailAddress
from commerce.orders.application.upcasters import STORED_EVENT_UPCASTERS
from commerce.orders.application.use_cases import ORDER_CODEC, ORDER_STREAM
from commerce.orders.domain import events as order_events
from commerce.orders.domain.events import (
    ORDER_EVENT_TYPES,
    OrderCancelled,
    OrderConfirmed,
    OrderLineAdded,
    OrderStatus,
)
from commerce.orders.messages.events import OrderCancelledV1, OrderConfirmedV1
from commerce.platform.eventsourcing.streams import RecordedEvent, StreamId
from commerce.platform.kit import events as identity_events
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import InvoiceId, TenantId
from commerce.platform.kit.money import Money
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import Envelope, HeaderStyle, parse_envelope
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.registry.channels import COMMAND_ROUTES, INTEGRATION_EVENTS
from commerce.registry.events import integration_event_for
from tests.support.event_store import as_jsonb

pytestmark = pytest.mark.property

_ZONES = st.sampled_from([UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5))])
_MOMENTS = st.datetimes(  # hypothesis takes naive bounds and adds the zones
    min_value=datetime(2000, 1, 1),  # noqa: DTZ001
    max_value=datetime(2100, 1, 1),  # noqa: DTZ001
    timezones=_ZONES,
)
_CURRENCIES = st.from_regex(r"\A[A-Z]{3}\Z")
# Bounded so that amount x quantity (an order line) stays within 64 bits, as the domain
# guarantees for every event it records; the full range is covered by the money properties.
_AMOUNTS = st.integers(-(2**31), 2**31)


def _bounds(info: FieldInfo) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for rule in info.metadata:
        for name in ("min_length", "max_length", "ge", "le", "pattern"):
            if getattr(rule, name, None) is not None:
                found[name] = getattr(rule, name)
        if isinstance(rule, annotated_types.MinLen):
            found["min_length"] = rule.min_length
        if isinstance(rule, annotated_types.MaxLen):
            found["max_length"] = rule.max_length
    return found


def _text(low: int, high: int) -> st.SearchStrategy[str]:
    """Text without NUL, which no Postgres ``text`` or ``jsonb`` value can hold."""
    characters = st.characters(codec="utf-8", exclude_characters="\x00")
    stripped = st.text(characters, min_size=low, max_size=high).map(str.strip)
    return stripped.filter(lambda text: low <= len(text) <= high)


def _values(kind: Any, info: FieldInfo | None = None) -> st.SearchStrategy[Any]:
    bounds = _bounds(info) if info is not None else {}
    arguments = typing.get_args(kind)
    if typing.get_origin(kind) is types.UnionType and type(None) in arguments:
        (inner,) = (argument for argument in arguments if argument is not type(None))
        return st.none() | _values(inner, info)
    if kind is EmailAddress:
        return st.from_regex(r"\A[a-z0-9]{1,12}@[a-z]{1,10}\.[a-z]{2,6}\Z").map(EmailAddress.parse)
    if kind is UUID:
        return st.uuids()
    if kind in (datetime, AwareDatetime):
        return _MOMENTS
    if typing.get_origin(kind) is typing.Literal:
        return st.sampled_from(arguments)
    if isinstance(kind, type) and issubclass(kind, Enum):
        return st.sampled_from(list(kind))
    if isinstance(kind, type) and issubclass(kind, BaseModel):
        return _payloads(kind).map(kind.model_validate)
    if kind is Money:
        return st.builds(Money, _AMOUNTS, _CURRENCIES)
    if kind is int:
        return st.integers(bounds.get("ge", -(2**31)), bounds.get("le", 2**31 - 1))
    if kind is float:
        return st.floats(bounds.get("ge", -1e9), bounds.get("le", 1e9), allow_nan=False)
    if kind is SecretStr:
        return _text(max(12, bounds.get("min_length", 0)), 64).map(SecretStr)
    if kind is str:
        if "pattern" in bounds:
            return st.from_regex(rf"\A{bounds['pattern'].strip('^$')}\Z")
        return _text(bounds.get("min_length", 0), min(bounds.get("max_length", 80), 80))
    if dataclasses.is_dataclass(kind):  # an identifier such as OrderId or TenantId
        return st.uuids().map(kind)  # type: ignore[arg-type]
    raise TypeError(f"no strategy for {kind!r}")


def _payloads(model: type[BaseModel]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {name: _values(info.annotation, info) for name, info in model.model_fields.items()}
    )


@pytest.mark.parametrize("route", COMMAND_ROUTES, ids=lambda route: route.command.__name__)
@settings(max_examples=60)
@given(data=st.data())
def test_every_command_survives_the_wire(route: Any, data: st.DataObject) -> None:
    """Property: Command.model_validate_json(command.wire_body()) == command, secrets included."""
    model: type[Command] = route.command
    command = model.model_validate(data.draw(_payloads(model)))
    assert model.model_validate_json(command.wire_body()) == command
    assert command.aggregate_key()


@pytest.mark.parametrize("event", INTEGRATION_EVENTS, ids=lambda event: event.__name__)
@settings(max_examples=60)
@given(data=st.data())
def test_every_integration_event_survives_the_wire(
    event: type[IntegrationEvent], data: st.DataObject
) -> None:
    """Property: Event.model_validate_json(event.model_dump_json()) == event."""
    published = event.model_validate(data.draw(_payloads(event)))
    assert event.model_validate_json(published.model_dump_json()) == published


def _domain_events(cls: type[DomainEvent]) -> st.SearchStrategy[DomainEvent]:
    hints = typing.get_type_hints(cls)
    fields = {
        f.name: _values(hints[f.name]) for f in dataclasses.fields(cls) if f.name != "version"
    }
    fields["version"] = st.integers(1, 10_000)
    fields["aggregate_id"] = st.uuids().map(str)
    return st.builds(cls, **fields)


_ORDER_EVENTS = st.one_of(*(_domain_events(cls) for cls in ORDER_EVENT_TYPES.values()))


@given(event=_ORDER_EVENTS, position=st.integers(1, 2**40))
def test_every_order_event_survives_the_event_store(event: DomainEvent, position: int) -> None:
    """Property: decode(store(encode(event))) == event, through a jsonb round trip."""
    new = ORDER_CODEC.encode(event)  # type: ignore[arg-type]
    stored = RecordedEvent(
        position=position,
        tenant_id=event.tenant_id,
        stream=StreamId(ORDER_STREAM, UUID(event.aggregate_id)),
        version=event.version,
        event_type=new.event_type,
        payload=as_jsonb(new.payload),
        metadata={},
        recorded_at=datetime.now(UTC),
    )
    assert ORDER_CODEC.decode(stored) == event


def _stored(event: DomainEvent, event_type: str, payload: dict[str, Any]) -> RecordedEvent:
    """A row of ``event``'s stream as the store reads it back, upcast."""
    event_type, payload = STORED_EVENT_UPCASTERS.upcast(event_type, as_jsonb(payload))
    return RecordedEvent(
        position=1,
        tenant_id=event.tenant_id,
        stream=StreamId(ORDER_STREAM, UUID(event.aggregate_id)),
        version=event.version,
        event_type=event_type,
        payload=payload,
        metadata={},
        recorded_at=datetime.now(UTC),
    )


@given(line=_domain_events(OrderLineAdded))
def test_order_lines_stored_as_v1_load_as_v2_with_no_name(line: OrderLineAdded) -> None:
    """Property (upcasting OrderLineAdded v1 -> v2): a line an older release stored (type
    ``.v1``, no ``item_name``) loads through the service's upcasters and codec as the same
    line with ``item_name`` None; a ``.v2`` row loads unchanged, name included."""
    current = ORDER_CODEC.encode(line)
    assert current.event_type == "commerce.orders.OrderLineAdded.v2"
    old = {name: value for name, value in current.payload.items() if name != "item_name"}
    from_v1 = ORDER_CODEC.decode(_stored(line, "commerce.orders.OrderLineAdded.v1", old))
    assert from_v1 == dataclasses.replace(line, item_name=None)
    assert ORDER_CODEC.decode(_stored(line, current.event_type, current.payload)) == line


@given(event=_ORDER_EVENTS, tenant=st.uuids())
def test_every_order_event_maps_to_a_parseable_integration_event(
    event: DomainEvent, tenant: UUID
) -> None:
    """Property: the published form of a domain event parses back equal, on its stream."""
    event = dataclasses.replace(event, tenant_id=TenantId(tenant))
    published = integration_event_for(event)
    assert published.message_type.rpartition(".v")[0] == event.event_type.rpartition(".v")[0]
    assert type(published).model_validate_json(published.model_dump_json()) == published


def _exported_events(*modules: types.ModuleType) -> tuple[type[DomainEvent], ...]:
    return tuple(
        value
        for module in modules
        for value in map(module.__dict__.get, module.__all__)
        if isinstance(value, type) and issubclass(value, DomainEvent) and value is not DomainEvent
    )


_DOMAIN_EVENTS = _exported_events(identity_events, catalog_events, order_events, billing_events)
"""Every domain event of identity, catalog, orders and billing."""


@pytest.mark.parametrize(
    "event_type", _DOMAIN_EVENTS, ids=lambda cls: cls.event_type.rpartition(".v")[0]
)
@settings(max_examples=40)
@given(data=st.data(), tenant=st.uuids())
def test_every_domain_event_is_published_under_its_name(
    event_type: type[DomainEvent], data: st.DataObject, tenant: UUID
) -> None:
    """Property (mapper, every context): each domain event of identity, catalog, orders
    and billing is published as a catalogued integration event of the same name (versions
    may differ: the stored form and the wire are versioned apart) that parses back equal."""
    event = dataclasses.replace(data.draw(_domain_events(event_type)), tenant_id=TenantId(tenant))
    published = integration_event_for(event)
    assert type(published) in INTEGRATION_EVENTS
    assert published.message_type.rpartition(".v")[0] == event.event_type.rpartition(".v")[0]
    assert type(published).model_validate_json(published.model_dump_json()) == published


def _received_by_billing[E: (OrderConfirmedV1, OrderCancelledV1)](
    event: DomainEvent, wire: type[E], style: HeaderStyle
) -> tuple[E, Envelope]:
    """``event`` published, sent over the wire (JSON body, CloudEvents headers) and
    received by the billing policy's consumer as ``wire`` and its envelope."""
    published = integration_event_for(event)
    envelope = dataclasses.replace(
        Envelope.new(
            type=published.message_type,
            source="/commerce",
            tenant_id=event.tenant_id.value,
            subject=event.aggregate_id,
        ),
        aggregate_version=event.version,
    )
    body = wire.model_validate_json(published.model_dump_json())
    return body, parse_envelope(envelope.headers(style))


@given(event=_domain_events(OrderConfirmed), style=st.sampled_from(HeaderStyle))
def test_the_invoice_of_an_order_is_issued_for_its_confirmed_total(
    event: OrderConfirmed, style: HeaderStyle
) -> None:
    """Property (billing reads the orders' published language): the OrderConfirmed an order
    recorded, received by billing from the wire, is invoiced to its tenant and customer for
    its total, under the invoice id of the order."""
    body, envelope = _received_by_billing(event, OrderConfirmedV1, style)
    assert invoice_policy(order_fact_of(body, envelope)) == IssueInvoice(
        tenant_id=event.tenant_id,
        invoice_id=InvoiceId.for_order(event.order_id),
        order_id=event.order_id,
        customer_id=event.customer_id,
        amount=event.total,
    )


@given(event=_domain_events(OrderCancelled), style=st.sampled_from(HeaderStyle))
def test_only_the_cancellation_of_a_confirmed_order_voids_its_invoice(
    event: OrderCancelled, style: HeaderStyle
) -> None:
    """Property (billing reads the orders' published language): the OrderCancelled an order
    recorded, received by billing from the wire, voids the order's invoice for the same
    reason if the order had been confirmed, and decides nothing otherwise (a placed order
    was never invoiced)."""
    body, envelope = _received_by_billing(event, OrderCancelledV1, style)
    decision = invoice_policy(order_fact_of(body, envelope))
    if event.previous_status is OrderStatus.CONFIRMED:
        assert decision == VoidInvoice(
            tenant_id=event.tenant_id,
            invoice_id=InvoiceId.for_order(event.order_id),
            order_id=event.order_id,
            reason=event.reason,
        )
    else:
        assert decision is None
