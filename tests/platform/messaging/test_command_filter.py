"""A command handler takes only its command's CloudEvents types (and declared versions)."""

from typing import Any

import pytest

from commerce.identity.messages.commands import RegisterUser
from commerce.platform.messaging.command_filter import accepted_types, command_of, only_its_command

pytestmark = pytest.mark.unit


@pytest.fixture
def v2_accepting_v1(monkeypatch: pytest.MonkeyPatch) -> None:
    """``RegisterUser`` as a ``v2`` model that still parses ``v1`` payloads.

    Patched rather than subclassed: every ``Command`` subclass must be in the catalogue.
    """
    monkeypatch.setattr(RegisterUser, "message_type", "commerce.identity.RegisterUser.v2")
    monkeypatch.setattr(RegisterUser, "also_accepts", ("commerce.identity.RegisterUser.v1",))


class _Message:
    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


async def _on_register(body: RegisterUser, envelope: Any) -> None:
    """A handler of the command."""


def test_a_command_is_accepted_under_its_own_type() -> None:
    assert accepted_types(RegisterUser) == {"commerce.identity.RegisterUser.v1"}


@pytest.mark.usefixtures("v2_accepting_v1")
def test_a_command_is_accepted_under_its_declared_earlier_versions_too() -> None:
    assert accepted_types(RegisterUser) == {
        "commerce.identity.RegisterUser.v2",
        "commerce.identity.RegisterUser.v1",
    }


def test_the_command_is_read_from_the_handler_signature() -> None:
    class Handler:
        async def __call__(self, body: RegisterUser, envelope: Any) -> None: ...

    assert command_of(_on_register) is RegisterUser
    assert command_of(Handler()) is RegisterUser


def test_a_handler_without_a_command_parameter_is_refused_when_subscribed() -> None:
    async def raw(body: bytes) -> None: ...

    with pytest.raises(TypeError, match="raw has no parameter annotated with a Command"):
        command_of(raw)


@pytest.mark.usefixtures("v2_accepting_v1")
async def test_the_subscription_filter_takes_the_command_types_and_leaves_the_rest() -> None:
    subscribed: dict[str, Any] = {}

    def subscribe(handler: Any, /, **options: Any) -> Any:
        subscribed.update(options, handler=handler)
        return handler

    only_its_command(subscribe)(_on_register)
    takes = subscribed["filter"]
    assert subscribed["handler"] is _on_register
    assert await takes(_Message({"ce-type": "commerce.identity.RegisterUser.v1"}))
    assert await takes(_Message({"ce_type": "commerce.identity.RegisterUser.v2"}))
    assert not await takes(_Message({"ce-type": "commerce.identity.RegisterUser.v3"}))
    assert not await takes(_Message({"ce-type": "commerce.identity.ChangeProfile.v1"}))
    assert await takes(_Message({})), "no type: the envelope check dead-letters it"


@pytest.mark.usefixtures("v2_accepting_v1")
async def test_a_filter_given_at_subscription_narrows_the_command_filter() -> None:
    subscribed: dict[str, Any] = {}

    def subscribe(handler: Any, /, **options: Any) -> Any:
        subscribed.update(options)
        return handler

    only_its_command(subscribe)(_on_register, filter=lambda message: "x-pick" in message.headers)
    takes = subscribed["filter"]
    assert await takes(_Message({"ce-type": "commerce.identity.RegisterUser.v2", "x-pick": "1"}))
    assert not await takes(_Message({"ce-type": "commerce.identity.RegisterUser.v2"}))
    assert not await takes(_Message({"ce-type": "commerce.tests.Other.v1", "x-pick": "1"}))
