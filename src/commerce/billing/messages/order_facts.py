"""The domain event an integration event announces: the inverse of ``integration_event_for``.

A consumer in another context (the billing policy reacting to ``OrderConfirmed``) rebuilds
the producer's domain event from the message: the body carries the event's own fields,
the envelope its header (tenant, ``subject`` = aggregate id, ``aggregateversion``).

The mapping is derived from the classes, so a new event needs no code here: each field
of the domain event is read from the integration event's field of the same name and
converted by the domain field's type (identifiers from UUIDs,
:class:`Money` from :class:`MoneyPayload`,
:class:`~commerce.platform.kit.ids.EmailAddress` parsed, enums by value, ``T | None`` as
``T`` or ``None``); ``occurred_at`` is the integration event's one timestamp
(``placed_at``, ``issued_at``, ...). Fields only the wire carries (an order line's
``subtotal``) are derived facts and are dropped. Integration and domain events pair up by
name; their versions may differ (the stored form and the wire are versioned apart).
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import AwareDatetime

from commerce.billing.domain.events import InvoiceIssued, InvoiceVoided, PaymentCaptured
from commerce.catalog.domain.events import ItemCreated, ItemPriceChanged, ItemRetired, StockAdjusted
from commerce.identity.domain.events import (
    RoleAssigned,
    UserDeactivated,
    UserProfileChanged,
    UserRegistered,
)
from commerce.identity.domain.values import EmailAddress
from commerce.orders.domain.events import ORDER_EVENT_TYPES
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.money import Money
from commerce.platform.messaging.envelope import Envelope, EnvelopeError
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.money import MoneyPayload
from commerce.registry.channels import INTEGRATION_EVENTS

__all__ = ["DOMAIN_EVENTS", "domain_event_of"]

DOMAIN_EVENTS: tuple[type[DomainEvent], ...] = (
    UserRegistered,
    UserProfileChanged,
    UserDeactivated,
    RoleAssigned,
    ItemCreated,
    ItemPriceChanged,
    StockAdjusted,
    ItemRetired,
    *ORDER_EVENT_TYPES.values(),
    InvoiceIssued,
    PaymentCaptured,
    InvoiceVoided,
)
"""Every domain event some integration event announces, in every context."""

_HEADER = frozenset(field.name for field in dataclasses.fields(DomainEvent))


def _unversioned(name: str) -> str:
    """``commerce.orders.OrderPlaced.v1`` -> ``commerce.orders.OrderPlaced``."""
    return name.rpartition(".v")[0]


def _converter(kind: Any) -> Callable[[Any], Any]:
    """How a wire value becomes a value of the domain type ``kind``."""
    arguments = typing.get_args(kind)
    if typing.get_origin(kind) is types.UnionType and type(None) in arguments:
        (inner,) = (argument for argument in arguments if argument is not type(None))
        convert = _converter(inner)
        return lambda value: None if value is None else convert(value)
    if kind is Money:
        return MoneyPayload.to_money
    if kind is EmailAddress:
        return EmailAddress.parse
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    fields = dataclasses.fields(kind) if dataclasses.is_dataclass(kind) else ()
    if len(fields) == 1 and fields[0].name == "value":  # an identifier such as OrderId
        identifier: Callable[[UUID], Any] = kind
        return identifier
    if kind in (str, int, bool):
        return lambda value: value
    raise TypeError(f"no conversion from the wire to {kind!r}")


@dataclasses.dataclass(frozen=True, slots=True)
class _Mapping:
    """How one integration event type becomes its domain event."""

    domain: type[DomainEvent]
    occurred_at: str
    fields: Mapping[str, Callable[[Any], Any]]

    @classmethod
    def between(cls, wire: type[IntegrationEvent], domain: type[DomainEvent]) -> _Mapping:
        hints = typing.get_type_hints(domain)
        own = [f.name for f in dataclasses.fields(domain) if f.name not in _HEADER]
        missing = [name for name in own if name not in wire.model_fields]
        moments = [n for n, f in wire.model_fields.items() if f.annotation is AwareDatetime]
        if missing or len(moments) != 1:
            raise TypeError(f"{wire.__name__} cannot announce {domain.__name__}")
        return cls(domain, moments[0], {name: _converter(hints[name]) for name in own})

    def domain_event(self, event: IntegrationEvent, envelope: Envelope) -> DomainEvent:
        if envelope.subject is None or envelope.aggregate_version is None:
            raise EnvelopeError(f"{envelope.type} names no aggregate (subject and version)")
        return self.domain(
            tenant_id=TenantId(envelope.tenant_id),
            aggregate_id=envelope.subject,
            version=envelope.aggregate_version,
            occurred_at=getattr(event, self.occurred_at),
            **{name: convert(getattr(event, name)) for name, convert in self.fields.items()},
        )


def _mappings() -> dict[type[IntegrationEvent], _Mapping]:
    by_name = {_unversioned(domain.event_type): domain for domain in DOMAIN_EVENTS}
    mappings = {
        wire: _Mapping.between(wire, by_name[_unversioned(wire.message_type)])
        for wire in INTEGRATION_EVENTS
        if _unversioned(wire.message_type) in by_name
    }
    unannounced = set(DOMAIN_EVENTS) - {mapping.domain for mapping in mappings.values()}
    if unannounced:
        raise TypeError(f"no integration event announces {sorted(map(str, unannounced))}")
    return mappings


_MAPPINGS = _mappings()


def domain_event_of(event: IntegrationEvent, envelope: Envelope) -> DomainEvent:
    """The domain event ``event`` (with its ``envelope``) announces.

    Raises :class:`LookupError` for an event that announces no domain event (a
    rejection) and :class:`~commerce.platform.messaging.envelope.EnvelopeError` when the envelope
    lacks the aggregate's id or version.
    """
    mapping = _MAPPINGS.get(type(event))
    if mapping is None:
        raise LookupError(f"{type(event).__name__} announces no domain event")
    return mapping.domain_event(event, envelope)
