"""Value objects shared by the aggregates: identifiers, e-mail addresses and roles."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Self
from uuid import UUID, uuid5

from commerce.platform.kit.errors import InvalidEmail, InvalidValue

__all__ = [
    "EmailAddress",
    "InvoiceId",
    "ItemId",
    "OrderId",
    "Role",
    "TenantId",
    "UserId",
    "new_uuid7",
    "require_aware",
]

_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$")
_EMAIL_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")
_MAX_EMAIL_LENGTH = 254
_MAX_LOCAL_LENGTH = 64


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


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """A syntactically valid address, normalised to lower case for uniqueness checks."""

    value: str

    def __post_init__(self) -> None:
        if self.value != self.value.strip().lower():
            raise InvalidValue("EmailAddress must be built with EmailAddress.parse")

    @classmethod
    def parse(cls, text: str) -> EmailAddress:
        """Validate ``text`` (dot-atom local part, DNS labels, a dotted domain)."""
        candidate = text.strip().lower()
        if len(candidate) > _MAX_EMAIL_LENGTH or candidate.count("@") != 1:
            raise InvalidEmail(f"not an e-mail address: {text!r}")
        local, domain = candidate.split("@")
        labels = domain.split(".")
        local_ok = (
            0 < len(local) <= _MAX_LOCAL_LENGTH
            and _EMAIL_LOCAL.match(local) is not None
            and not local.startswith(".")
            and not local.endswith(".")
            and ".." not in local
        )
        domain_ok = len(labels) >= 2 and all(_EMAIL_LABEL.match(label) for label in labels)
        if not (local_ok and domain_ok) or labels[-1].isdigit():
            raise InvalidEmail(f"not an e-mail address: {text!r}")
        return cls(candidate)

    def __str__(self) -> str:
        return self.value


def require_aware(moment: datetime) -> datetime:
    """Return ``moment`` unchanged, refusing naive datetimes with :class:`InvalidValue`."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidValue("timestamps must be timezone-aware")
    return moment


class Role(StrEnum):
    """What a user may do. Roles add up; every registered user starts as a customer."""

    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


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
