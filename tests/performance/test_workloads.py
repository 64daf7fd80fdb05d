"""The pipeline's workloads and the all-process CPU groups (fast; part of ``make test``)."""

import os
from pathlib import Path
from uuid import uuid4

import pytest
from scripts.bench.processes import processes_named
from scripts.bench.shop_mix import register_users, shop_mix

from commerce.catalog.messages.channels import CREATE_ITEM
from commerce.identity.messages.channels import REGISTER_USER
from commerce.orders.messages.channels import PLACE_ORDER
from commerce.orders.messages.commands import PlaceOrder
from commerce.platform.messaging.envelope import HeaderStyle

pytestmark = pytest.mark.unit


def test_the_mix_alternates_catalogue_and_orders_and_orders_only_registered_customers() -> None:
    tenants = [uuid4() for _ in range(3)]
    workload = shop_mix(tenants, 12, HeaderStyle.RABBIT)
    channels = [command.channel for command in workload.commands]
    assert channels == [CREATE_ITEM.name, PLACE_ORDER.name] * 6
    assert {command.channel for command in workload.setup} == {REGISTER_USER.name}
    registered = {command.key for command in workload.setup}
    assert len(registered) == len(tenants)
    for command in workload.commands:
        if command.channel == PLACE_ORDER.name:
            order = PlaceOrder.model_validate_json(command.body)
            assert str(order.customer_id) in registered
    assert REGISTER_USER.consumer not in workload.consumers  # no hashing in the measured part


def test_register_user_alone_has_no_setup_and_unique_users() -> None:
    workload = register_users([uuid4()], 5, HeaderStyle.KAFKA)
    assert workload.setup == []
    assert len({command.key for command in workload.commands}) == 5


def test_a_process_group_finds_processes_by_name() -> None:
    own = Path(f"/proc/{os.getpid()}/comm").read_text().strip()
    assert os.getpid() in processes_named(own)()
    assert processes_named("no-such-process-name")() == []
