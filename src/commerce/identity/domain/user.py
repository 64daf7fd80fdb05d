"""The ``User`` aggregate of the identity context.

Commands that would not change anything (assigning a role the user holds, deactivating a
deactivated user, setting the same display name) are no-ops that record no event, so a
repeated command is harmless. A deactivated account is frozen: it cannot change its
profile or gain roles, and it cannot place orders (:data:`USER_CAN_PLACE_ORDERS`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from commerce.identity.domain.errors import UserInactive
from commerce.identity.domain.events import (
    RoleAssigned,
    UserDeactivated,
    UserProfileChanged,
    UserRegistered,
)
from commerce.identity.domain.values import EmailAddress, Role
from commerce.platform.kit.errors import InvalidValue
from commerce.platform.kit.events import DomainEvent, EventHeader
from commerce.platform.kit.ids import TenantId, UserId, require_aware
from commerce.platform.kit.specification import Specification

__all__ = [
    "USER_CAN_PLACE_ORDERS",
    "HasRole",
    "Role",
    "User",
    "UserIsActive",
    "UserStatus",
]

_MAX_DISPLAY_NAME = 200


class UserStatus(StrEnum):
    """Life-cycle state of a user account."""

    ACTIVE = "active"
    DEACTIVATED = "deactivated"


def _display_name(display_name: str) -> str:
    name = display_name.strip()
    if not name or len(name) > _MAX_DISPLAY_NAME:
        raise InvalidValue(f"display name must be 1-{_MAX_DISPLAY_NAME} characters")
    return name


@dataclass(slots=True, eq=False)
class User:
    """A person who can sign in and place orders, within one tenant.

    Uniqueness of the e-mail per tenant spans aggregates, so the registering use case
    checks it through the repository; the database's unique index is the final guard.
    """

    id: UserId
    tenant_id: TenantId
    email: EmailAddress
    display_name: str
    password_hash: str
    status: UserStatus
    version: int
    registered_at: datetime
    pending_events: list[DomainEvent] = field(default_factory=list)
    roles: frozenset[Role] = frozenset({Role.CUSTOMER})

    @classmethod
    def register(
        cls,
        *,
        user_id: UserId,
        tenant_id: TenantId,
        email: EmailAddress,
        display_name: str,
        password_hash: str,
        now: datetime,
    ) -> User:
        """Create an active customer and record :class:`UserRegistered`."""
        name = _display_name(display_name)
        require_aware(now)
        user = cls(
            id=user_id,
            tenant_id=tenant_id,
            email=email,
            display_name=name,
            password_hash=password_hash,
            status=UserStatus.ACTIVE,
            version=1,
            registered_at=now,
        )
        user.pending_events.append(
            UserRegistered(
                tenant_id=tenant_id,
                aggregate_id=str(user_id),
                version=1,
                occurred_at=now,
                user_id=user_id,
                email=email,
                display_name=name,
            )
        )
        return user

    @property
    def is_active(self) -> bool:
        """Whether the account is active."""
        return self.status is UserStatus.ACTIVE

    @property
    def can_place_orders(self) -> bool:
        """Whether :data:`USER_CAN_PLACE_ORDERS` holds for this user."""
        return USER_CAN_PLACE_ORDERS.is_satisfied_by(self)

    def change_profile(self, *, display_name: str, now: datetime) -> None:
        """Set the display name; record :class:`UserProfileChanged` if it changed."""
        name = _display_name(display_name)
        require_aware(now)
        self._require_active("change the profile of")
        if name == self.display_name:
            return
        self.display_name = name
        self.version += 1
        self.pending_events.append(
            UserProfileChanged(**self._event_header(now), user_id=self.id, display_name=name)
        )

    def deactivate(self, *, now: datetime) -> None:
        """Deactivate the account (no-op if it already is); record :class:`UserDeactivated`."""
        require_aware(now)
        if not self.is_active:
            return
        self.status = UserStatus.DEACTIVATED
        self.version += 1
        self.pending_events.append(UserDeactivated(**self._event_header(now), user_id=self.id))

    def assign_role(self, role: Role, *, now: datetime) -> None:
        """Grant ``role``; a role already held is a no-op without event."""
        require_aware(now)
        self._require_active("assign a role to")
        if role in self.roles:
            return
        self.roles = self.roles | {role}
        self.version += 1
        self.pending_events.append(
            RoleAssigned(**self._event_header(now), user_id=self.id, role=role)
        )

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last call."""
        events, self.pending_events = self.pending_events, []
        return events

    def _require_active(self, action: str) -> None:
        if not self.is_active:
            raise UserInactive(f"cannot {action} deactivated user {self.id}")

    def _event_header(self, now: datetime) -> EventHeader:
        return {
            "tenant_id": self.tenant_id,
            "aggregate_id": str(self.id),
            "version": self.version,
            "occurred_at": now,
        }


class UserIsActive(Specification[User]):
    """The account is active (not deactivated)."""

    __slots__ = ()

    def is_satisfied_by(self, candidate: User) -> bool:
        """``candidate.status is ACTIVE``."""
        return candidate.is_active

    @property
    def description(self) -> str:
        """``user is active``."""
        return "user is active"


class HasRole(Specification[User]):
    """The user holds ``role``."""

    __slots__ = ("role",)

    def __init__(self, role: Role) -> None:
        self.role = role

    def is_satisfied_by(self, candidate: User) -> bool:
        """``role in candidate.roles``."""
        return self.role in candidate.roles

    @property
    def description(self) -> str:
        """``user has role <role>``."""
        return f"user has role {self.role.value}"


USER_CAN_PLACE_ORDERS: Specification[User] = UserIsActive() & HasRole(Role.CUSTOMER)
"""An active account holding the customer role (every registered user starts with it)."""
