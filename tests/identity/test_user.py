"""The User aggregate and its value objects."""

from datetime import UTC, datetime
from uuid import uuid4

import pytest

from commerce.identity.domain.errors import InvalidEmail
from commerce.identity.domain.events import UserRegistered
from commerce.identity.domain.user import User, UserStatus
from commerce.identity.domain.values import EmailAddress
from commerce.platform.kit.errors import InvalidValue
from commerce.platform.kit.ids import TenantId, UserId

pytestmark = pytest.mark.unit

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def _register(display_name: str = "Ada Lovelace", now: datetime = NOW) -> User:
    return User.register(
        user_id=UserId.new(),
        tenant_id=TenantId(uuid4()),
        email=EmailAddress.parse("Ada@Example.com"),
        display_name=display_name,
        password_hash="argon2-hash",
        now=now,
    )


def test_registering_records_exactly_one_event_and_starts_active() -> None:
    user = _register()
    events = user.collect_events()
    assert user.status is UserStatus.ACTIVE
    assert user.version == 1
    assert len(events) == 1
    assert isinstance(events[0], UserRegistered)
    assert events[0].email.value == "ada@example.com"
    assert user.collect_events() == []


@pytest.mark.parametrize("name", ["", "   ", "x" * 201])
def test_display_name_must_be_one_to_two_hundred_characters(name: str) -> None:
    with pytest.raises(InvalidValue, match="display name"):
        _register(display_name=name)


def test_naive_timestamps_are_refused() -> None:
    with pytest.raises(InvalidValue, match="timezone-aware"):
        _register(now=datetime(2026, 1, 1))  # noqa: DTZ001 - the point of the test


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "a..b@example.com",
        ".a@example.com",
        "ada@-example.com",
        "ada@example.123",
        "ada@@example.com",
        "a b@example.com",
        f"{'a' * 65}@example.com",
    ],
)
def test_invalid_email_addresses_are_refused(text: str) -> None:
    with pytest.raises(InvalidEmail):
        EmailAddress.parse(text)


def test_email_is_normalised_to_lower_case_without_surrounding_space() -> None:
    assert EmailAddress.parse("  Ada.Lovelace+x@Example.COM ").value == "ada.lovelace+x@example.com"


def test_an_email_cannot_be_built_unnormalised() -> None:
    with pytest.raises(InvalidValue):
        EmailAddress("Ada@Example.com")
