"""Every consumer belongs to one consumer group (its bulkhead); a new one must say which."""

import pytest

from commerce.billing.messages.channels import BILLING_POLICY
from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY, USERS
from commerce.platform.messaging.channels import EventConsumer
from commerce.registry.channels import COMMAND_CHANNELS, EVENT_CONSUMERS
from commerce.registry.consumer_groups import (
    COMMANDS,
    EVENT_CONSUMER_GROUPS,
    POLICIES,
    PROJECTIONS,
    group_of,
)

pytestmark = pytest.mark.unit


def test_every_command_channel_is_in_the_commands_group() -> None:
    assert {group_of(channel) for channel in COMMAND_CHANNELS} == {COMMANDS}


def test_every_event_consumer_is_assigned_and_none_to_the_commands_group() -> None:
    assert set(EVENT_CONSUMER_GROUPS) == {consumer.consumer for consumer in EVENT_CONSUMERS}
    assert COMMANDS not in EVENT_CONSUMER_GROUPS.values()


def test_projections_and_policies_are_kept_apart() -> None:
    assert group_of(USER_DIRECTORY) == PROJECTIONS
    assert group_of(BILLING_POLICY) == POLICIES
    assert group_of(REGISTER_USER) == COMMANDS


def test_an_event_consumer_the_registry_does_not_list_is_a_projection() -> None:
    wired_by_hand = EventConsumer(name="tests.by-hand", stream=USERS, description="by hand")
    assert group_of(wired_by_hand) == PROJECTIONS
