"""Identifiers: the tenant, and the aggregates every context refers to by id (UUIDv7)."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Self
from uuid import UUID, uuid5

from commerce.platform.kit.errors import InvalidValue

__all__ = ["InvoiceId", "ItemId", "OrderId", "TenantId", "UserId", "new_uuid7", "require_aware"]


def new_uuid7() -> UUID:
    """A time-ordered UUID (RFC 9562 version 7): 48-bit Unix milliseconds, then random."""
    unix_ms = time.time_ns() // 1_000_000
    value = (unix_ms & 0xFFFF_FFFF_FFFF) << 80 | int.from_bytes(os.urandom(10))
    value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
    value = (value & ~(0x3 << 62)) | (0x2 << 62)  # RFC 4122 variant
    return UUID(int=value)


@dataclass(frozen=True, slots=True)
class TenantId:
    """The tenant every entity belongs to."""

    value: UUID

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class UserId:
    """Identity of a :class:`~commerce.identity.domain.user.User`."""

    value: UUID

    @classmethod
    def new(cls) -> UserId:
        """A fresh, time-ordered identifier."""
        return cls(new_uuid7())

    def __str__(self) -> str:
        return str(self.value)


def require_aware(moment: datetime) -> datetime:
    """Return ``moment`` unchanged, refusing naive datetimes with :class:`InvalidValue`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("timestamps must be timezone-aware")
    return moment


@dataclass(frozen=True, slots=True)
class _Identifier:
    """A UUID wrapped in a type of its own, so ids of different aggregates never mix."""

    value: UUID

    @classmethod
    def new(cls) -> Self:
        """A fresh, time-ordered identifier."""
        return cls(new_uuid7())

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, slots=True)
class ItemId(_Identifier):
    """Identity of a catalogue :class:`~commerce.catalog.domain.item.Item`."""


@dataclass(frozen=True, slots=True)
class OrderId(_Identifier):
    """Identity of an :class:`~commerce.orders.domain.order.Order`."""


_INVOICE_NAMESPACE = UUID("5b0f3c4e-2a7d-5e61-9c8b-0d1e2f3a4b5c")
# Fixed forever: changing it would give every existing order a second invoice id.


@dataclass(frozen=True, slots=True)
class InvoiceId(_Identifier):
    """Identity of a billing :class:`~commerce.billing.domain.invoice.Invoice`."""

    @classmethod
    def for_order(cls, order_id: OrderId) -> InvoiceId:
        """The id of *the* invoice of ``order_id`` (UUIDv5): one invoice per order.

        Deterministic, so a redelivered ``OrderConfirmed`` yields the same invoice id and
        the billing policy can address the invoice to void without looking it up.
        """
        return cls(uuid5(_INVOICE_NAMESPACE, str(order_id.value)))
