"""Domain events: facts an aggregate records when its state changes.

This module holds the base class; each context keeps its events in its
``domain/events.py``.

Every concrete event names its versioned type in ``event_type``,
``commerce.<context>.<EventName>.v<N>``: the name an event store records, and, up to the
version, the name of the integration event published for it (its ``message_type``, see
:mod:`commerce.identity.messages.events`). The two are versioned independently: a new stored form
is a new ``.v<N+1>`` with an upcaster for the older rows
(:mod:`commerce.orders.application.upcasters`), and the wire contract moves to a new version only
for a change that would break its consumers, published beside the old one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar, TypedDict

from commerce.platform.kit.ids import TenantId

__all__ = ["DomainEvent", "EventHeader"]


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    """Base of every domain event: which aggregate, which version, when."""

    event_type: ClassVar[str]
    """The versioned type name, ``commerce.<context>.<EventName>.v<N>``."""

    tenant_id: TenantId
    aggregate_id: str
    version: int
    occurred_at: datetime


class EventHeader(TypedDict):
    """The :class:`DomainEvent` base fields, for ``Event(**header, ...)``."""

    tenant_id: TenantId
    aggregate_id: str
    version: int
    occurred_at: datetime
