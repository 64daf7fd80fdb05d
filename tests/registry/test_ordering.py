"""What the orders context is told of users and items, translated from identity and catalog."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commerce.catalog.domain.item import Item
from commerce.identity.domain.user import User
from commerce.identity.domain.values import EmailAddress, Role
from commerce.orders.domain.ordering import ITEM_IS_ORDERABLE
from commerce.platform.kit.ids import ItemId, TenantId, UserId
from commerce.platform.kit.money import Money
from commerce.registry.ordering import CustomersFromUsers, OrderableItemsFromCatalog

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
TENANT = TenantId(uuid4())


class _Found[K, V]:
    """A repository that knows one aggregate."""

    def __init__(self, key: K, value: V) -> None:
        self._key, self._value = key, value

    async def get(self, key: K) -> V | None:
        return self._value if key == self._key else None


def _user() -> User:
    user = User.register(
        user_id=UserId.new(),
        tenant_id=TENANT,
        email=EmailAddress.parse("ada@example.com"),
        display_name="Ada",
        password_hash="h",
        now=NOW,
    )
    user.collect_events()
    return user


async def test_an_active_customer_may_order_and_staff_roles_do_not_change_that() -> None:
    user = _user()
    user.assign_role(Role.STAFF, now=NOW)
    customer = await CustomersFromUsers(_Found(user.id, user)).get(user.id)
    assert customer is not None
    assert (customer.id, customer.tenant_id, customer.refusal) == (user.id, TENANT, None)


async def test_a_deactivated_user_is_a_customer_refused_by_the_identity_rule() -> None:
    user = _user()
    user.deactivate(now=NOW)
    customer = await CustomersFromUsers(_Found(user.id, user)).get(user.id)
    assert customer is not None
    assert customer.refusal == "(user is active and user has role customer)"


async def test_an_unknown_user_is_no_customer() -> None:
    user = _user()
    assert await CustomersFromUsers(_Found(user.id, user)).get(UserId.new()) is None


async def test_an_item_is_seen_as_it_is_now_and_a_retired_one_is_not_orderable() -> None:
    item = Item.create(
        item_id=ItemId.new(), tenant_id=TENANT, name="Loom", price=Money(2100, "EUR"), now=NOW
    )
    items = OrderableItemsFromCatalog(_Found(item.id, item))
    snapshot = await items.get(item.id)
    assert snapshot is not None
    assert (snapshot.item_id, snapshot.price, snapshot.name) == (item.id, item.price, "Loom")
    assert ITEM_IS_ORDERABLE.is_satisfied_by(snapshot)
    item.retire(now=NOW)
    retired = await items.get(item.id)
    assert retired is not None
    assert not ITEM_IS_ORDERABLE.is_satisfied_by(retired)
    assert await items.get(ItemId.new()) is None
