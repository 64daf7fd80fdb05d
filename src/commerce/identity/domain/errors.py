"""Rule violations of the identity context (each with a stable code)."""

from __future__ import annotations

from commerce.platform.kit.errors import DomainError, InvalidValue, NotFound

__all__ = [
    "EmailAlreadyRegistered",
    "InvalidEmail",
    "UserAlreadyExists",
    "UserInactive",
    "UserNotFound",
]


class InvalidEmail(InvalidValue):
    """The text is not a usable e-mail address."""

    code = "invalid_email"


class EmailAlreadyRegistered(DomainError):
    """Another user of the same tenant already registered this e-mail address."""

    code = "email_already_registered"


class UserAlreadyExists(DomainError):
    """A user with this id already exists."""

    code = "user_already_exists"


class UserInactive(DomainError):
    """The user account is deactivated; it can no longer be changed."""

    code = "user_inactive"


class UserNotFound(NotFound):
    """No user of this tenant has the id."""

    code = "user_not_found"
