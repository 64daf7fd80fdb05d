"""Identity use cases through ``process_command`` on the in-memory unit of work."""

import pytest

from commerce.identity.domain.events import RoleAssigned, UserDeactivated, UserProfileChanged
from commerce.identity.domain.user import Role, UserStatus
from commerce.platform.kit.ids import UserId
from commerce.platform.transactions.processing import Outcome
from tests.support.fakes import InMemoryUnitOfWorkFactory
from tests.support.scenario import Scenario

pytestmark = pytest.mark.unit


@pytest.fixture
def factory() -> InMemoryUnitOfWorkFactory:
    return InMemoryUnitOfWorkFactory()


@pytest.fixture
def scenario(factory: InMemoryUnitOfWorkFactory) -> Scenario:
    return Scenario(factory)


def _codes(factory: InMemoryUnitOfWorkFactory) -> list[str]:
    return [rejection.reason_code for rejection in factory.store.rejections]


async def test_changing_the_profile_stores_the_name_and_publishes_the_change(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    user_id = await scenario.register()
    assert await scenario.change_profile(user_id, "Ada King") is Outcome.APPLIED
    user = await scenario.user(user_id)
    assert user is not None
    assert (user.display_name, user.version) == ("Ada King", 2)
    event = factory.store.published[-1]
    assert isinstance(event, UserProfileChanged)
    assert (event.display_name, event.version) == ("Ada King", 2)


async def test_the_same_name_again_changes_nothing_and_publishes_nothing(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    user_id = await scenario.register()
    published = len(factory.store.published)
    assert await scenario.change_profile(user_id, "Ada") is Outcome.APPLIED
    assert len(factory.store.published) == published
    user = await scenario.user(user_id)
    assert user is not None
    assert user.version == 1


async def test_commands_for_an_unknown_user_are_rejected(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    stranger = UserId.new()
    assert await scenario.change_profile(stranger, "Bob") is Outcome.REJECTED
    assert await scenario.deactivate(stranger) is Outcome.REJECTED
    assert await scenario.assign_role(stranger, Role.STAFF) is Outcome.REJECTED
    assert _codes(factory) == ["user_not_found"] * 3


async def test_a_user_of_another_tenant_is_unknown(factory: InMemoryUnitOfWorkFactory) -> None:
    user_id = await Scenario(factory).register()
    assert await Scenario(factory).deactivate(user_id) is Outcome.REJECTED
    assert _codes(factory) == ["user_not_found"]


async def test_deactivation_is_stored_published_once_and_freezes_the_account(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    user_id = await scenario.register()
    assert await scenario.deactivate(user_id) is Outcome.APPLIED
    assert await scenario.deactivate(user_id) is Outcome.APPLIED, "a no-op, not a rejection"
    user = await scenario.user(user_id)
    assert user is not None
    assert user.status is UserStatus.DEACTIVATED
    assert [type(e) for e in factory.store.published[1:]] == [UserDeactivated]
    assert await scenario.change_profile(user_id, "Ghost") is Outcome.REJECTED
    assert await scenario.assign_role(user_id, Role.ADMIN) is Outcome.REJECTED
    assert _codes(factory) == ["user_inactive", "user_inactive"]


async def test_a_deactivated_user_cannot_place_orders(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    user_id = await scenario.register()
    await scenario.deactivate(user_id)
    outcome, order_id = await scenario.place(user_id)
    assert outcome is Outcome.REJECTED
    assert _codes(factory) == ["user_cannot_place_orders"]
    assert await scenario.order(order_id) is None


async def test_roles_add_up_and_a_held_role_is_a_no_op(
    scenario: Scenario, factory: InMemoryUnitOfWorkFactory
) -> None:
    user_id = await scenario.register()
    assert await scenario.assign_role(user_id, Role.STAFF) is Outcome.APPLIED
    assert await scenario.assign_role(user_id, Role.STAFF) is Outcome.APPLIED
    assert await scenario.assign_role(user_id, Role.CUSTOMER) is Outcome.APPLIED
    user = await scenario.user(user_id)
    assert user is not None
    assert user.roles == {Role.CUSTOMER, Role.STAFF}
    assert [(type(e), e.version) for e in factory.store.published[1:]] == [(RoleAssigned, 2)]
