"""Value objects of the identity context: e-mail addresses and roles."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from commerce.identity.domain.errors import InvalidEmail
from commerce.platform.kit.errors import InvalidValue

__all__ = ["EmailAddress", "Role"]


_EMAIL_LOCAL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+$")


_EMAIL_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


_MAX_EMAIL_LENGTH = 254


_MAX_LOCAL_LENGTH = 64


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


class Role(StrEnum):
    """What a user may do. Roles add up; every registered user starts as a customer."""

    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"
