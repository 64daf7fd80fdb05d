"""The User aggregate's life cycle: profile, roles, deactivation, ordering rights."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from commerce.identity.domain.errors import UserInactive
from commerce.identity.domain.events import RoleAssigned, UserDeactivated, UserProfileChanged
from commerce.identity.domain.user import USER_CAN_PLACE_ORDERS, HasRole, Role, User, UserStatus
from commerce.identity.domain.values import EmailAddress
from commerce.platform.kit.errors import InvalidValue
from commerce.platform.kit.ids import TenantId, UserId

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=1)


def _user() -> User:
    user = User.register(
        user_id=UserId.new(),
        tenant_id=TenantId(uuid4()),
        email=EmailAddress.parse("ada@example.com"),
        display_name="Ada",
        password_hash="argon2-hash",
        now=NOW,
    )
    user.collect_events()
    return user


def test_a_registered_user_is_an_active_customer_who_can_place_orders() -> None:
    user = _user()
    assert user.roles == frozenset({Role.CUSTOMER})
    assert user.can_place_orders
    assert USER_CAN_PLACE_ORDERS.is_satisfied_by(user)


def test_changing_the_profile_records_an_event_and_bumps_the_version() -> None:
    user = _user()
    user.change_profile(display_name="  Ada Lovelace ", now=LATER)
    [event] = user.collect_events()
    assert isinstance(event, UserProfileChanged)
    assert event.display_name == user.display_name == "Ada Lovelace"
    assert (event.version, user.version) == (2, 2)
    assert event.occurred_at == LATER
    assert event.aggregate_id == str(user.id)


def test_setting_the_same_display_name_is_a_no_op() -> None:
    user = _user()
    user.change_profile(display_name="Ada ", now=LATER)
    assert user.collect_events() == []
    assert user.version == 1


@pytest.mark.parametrize("name", ["", "  ", "x" * 201])
def test_profile_changes_validate_the_display_name(name: str) -> None:
    with pytest.raises(InvalidValue):
        _user().change_profile(display_name=name, now=LATER)


def test_deactivation_is_recorded_once_and_stops_ordering() -> None:
    user = _user()
    user.deactivate(now=LATER)
    user.deactivate(now=LATER)
    [event] = user.collect_events()
    assert isinstance(event, UserDeactivated)
    assert user.status is UserStatus.DEACTIVATED
    assert user.version == 2
    assert not user.can_place_orders


def test_a_deactivated_user_cannot_change_profile_or_gain_roles() -> None:
    user = _user()
    user.deactivate(now=LATER)
    with pytest.raises(UserInactive):
        user.change_profile(display_name="Someone else", now=LATER)
    with pytest.raises(UserInactive):
        user.assign_role(Role.ADMIN, now=LATER)


def test_assigning_a_role_records_it_and_a_held_role_is_a_no_op() -> None:
    user = _user()
    user.assign_role(Role.STAFF, now=LATER)
    user.assign_role(Role.STAFF, now=LATER)
    user.assign_role(Role.CUSTOMER, now=LATER)
    [event] = user.collect_events()
    assert isinstance(event, RoleAssigned)
    assert event.role is Role.STAFF
    assert user.roles == {Role.CUSTOMER, Role.STAFF}
    assert HasRole(Role.STAFF).is_satisfied_by(user)
    assert not HasRole(Role.ADMIN).is_satisfied_by(user)


def test_commands_refuse_naive_timestamps() -> None:
    user = _user()
    naive = datetime(2026, 1, 1)  # noqa: DTZ001 - the point of the test
    commands: list[Callable[[], None]] = [
        lambda: user.deactivate(now=naive),
        lambda: user.assign_role(Role.ADMIN, now=naive),
        lambda: user.change_profile(display_name="B", now=naive),
    ]
    for command in commands:
        with pytest.raises(InvalidValue, match="timezone-aware"):
            command()


def test_a_user_without_the_customer_role_cannot_place_orders() -> None:
    user = _user()
    user.roles = frozenset({Role.STAFF})
    assert not user.can_place_orders
