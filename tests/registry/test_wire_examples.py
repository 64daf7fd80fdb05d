"""The documented examples are real messages, and every command can be published by name."""

from typing import Any

import pytest
from pydantic import BaseModel

from commerce.registry.channels import COMMAND_ROUTES, COMMANDS_BY_NAME, INTEGRATION_EVENTS

pytestmark = pytest.mark.unit

MODELS: list[type[BaseModel]] = [
    *(route.command for route in COMMAND_ROUTES),
    *INTEGRATION_EVENTS,
]


@pytest.mark.parametrize("model", MODELS, ids=lambda model: model.__name__)
def test_every_example_in_the_contract_is_a_valid_message(model: type[BaseModel]) -> None:
    examples: list[dict[str, Any]] = model.model_json_schema()["examples"]
    assert examples, f"{model.__name__} documents no example"
    for example in examples:
        model.model_validate(example)


def test_every_command_is_published_by_its_class_name_with_a_versioned_type() -> None:
    assert len(COMMANDS_BY_NAME) == len(COMMAND_ROUTES) == 15
    for name, command in COMMANDS_BY_NAME.items():
        context, version = command.message_type.removeprefix("commerce.").rsplit(".", 1)
        assert context.endswith(f".{name}")
        assert version == "v1"


def test_each_command_has_its_own_channel() -> None:
    channels = [route.channel.name for route in COMMAND_ROUTES]
    assert len(set(channels)) == len(channels)
