"""Properties of the User aggregate under any sequence of identity commands."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.identity.domain.events import RoleAssigned, UserDeactivated
from commerce.identity.domain.user import Role, User, UserStatus
from commerce.identity.domain.values import EmailAddress
from commerce.platform.kit.errors import DomainError
from commerce.platform.kit.ids import TenantId, UserId

pytestmark = pytest.mark.property

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

COMMANDS = st.lists(
    st.one_of(
        st.tuples(st.just("role"), st.sampled_from(Role)),
        st.tuples(st.just("profile"), st.sampled_from(["Ada", "Ada L.", "  ", "Grace"])),
        st.tuples(st.just("deactivate"), st.none()),
    ),
    max_size=20,
)


@given(COMMANDS)
def test_roles_grow_once_each_and_deactivation_freezes_the_account(
    commands: list[tuple[str, object]],
) -> None:
    """Property: each role is assigned (with an event) at most once, versions are consecutive,
    nothing is recorded after deactivation, and can_place_orders == active."""
    user = User.register(
        user_id=UserId.new(),
        tenant_id=TenantId(uuid4()),
        email=EmailAddress.parse("ada@example.com"),
        display_name="Ada",
        password_hash="h",
        now=NOW,
    )
    for name, argument in commands:
        roles = user.roles
        try:
            if name == "role":
                assert isinstance(argument, Role)
                user.assign_role(argument, now=NOW)
            elif name == "profile":
                assert isinstance(argument, str)
                user.change_profile(display_name=argument, now=NOW)
            else:
                user.deactivate(now=NOW)
        except DomainError:
            pass
        assert roles <= user.roles
        assert user.can_place_orders == (user.status is UserStatus.ACTIVE)
    events = user.pending_events
    assigned = [e.role for e in events if isinstance(e, RoleAssigned)]
    assert len(assigned) == len(set(assigned))
    assert Role.CUSTOMER not in assigned
    assert user.roles == {Role.CUSTOMER, *assigned}
    assert [e.version for e in events] == list(range(1, user.version + 1))
    deactivations = [i for i, e in enumerate(events) if isinstance(e, UserDeactivated)]
    assert deactivations in ([], [len(events) - 1])
