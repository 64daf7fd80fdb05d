"""Value objects shared by the aggregates: identifiers and e-mail addresses."""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass
from uuid import UUID

from commerce.domain.errors import InvalidEmail, InvalidValue

__all__ = ["EmailAddress", "TenantId", "UserId", "new_uuid7"]

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
    """Identity of a :class:`~commerce.domain.user.User`."""

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
