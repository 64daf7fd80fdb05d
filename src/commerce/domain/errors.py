"""Domain errors: expected rule violations, never retried, reported to the sender."""

from __future__ import annotations

__all__ = [
    "DomainError",
    "EmailAlreadyRegistered",
    "InvalidEmail",
    "InvalidValue",
    "UserAlreadyExists",
]


class DomainError(Exception):
    """A business rule refused the operation. ``code`` is stable and machine-readable."""

    code = "domain_error"

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidValue(DomainError):
    """A value object was given a value outside its domain."""

    code = "invalid_value"


class InvalidEmail(InvalidValue):
    """The text is not a usable e-mail address."""

    code = "invalid_email"


class EmailAlreadyRegistered(DomainError):
    """Another user of the same tenant already registered this e-mail address."""

    code = "email_already_registered"


class UserAlreadyExists(DomainError):
    """A user with this id already exists."""

    code = "user_already_exists"
