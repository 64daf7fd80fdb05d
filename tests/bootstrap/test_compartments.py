"""Each consumer group's compartment: its own bulkhead, pool and kind of units of work."""

from collections.abc import AsyncIterator, Mapping
from uuid import uuid4

import pytest
from opentelemetry.trace import NoOpTracer

from commerce.bootstrap.compartments import Compartment, build_compartments
from commerce.config import BulkheadSettings, BulkheadsSettings, DatabaseSettings, Settings
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.message_context import MessageContext
from commerce.registry.consumer_groups import COMMANDS, POLICIES, PROJECTIONS
from commerce.registry.unit_of_work import (
    OwnTransactionServiceUnitOfWork,
    SharedServiceUnitOfWork,
)

pytestmark = pytest.mark.unit

BULKHEADS = BulkheadsSettings(
    commands=BulkheadSettings(concurrency=40, pool_size=7, max_overflow=3),
    projections=BulkheadSettings(concurrency=5, pool_size=3, max_overflow=2),
    policies=BulkheadSettings(concurrency=2, pool_size=1, max_overflow=1),
)
CONTEXT = MessageContext(
    message_id=uuid4(), message_type="t", tenant_id=TenantId(uuid4()), correlation_id=uuid4()
)


async def _built(group_commit_max_messages: int) -> AsyncIterator[Mapping[str, Compartment]]:
    settings = Settings(
        database=DatabaseSettings(group_commit_max_messages=group_commit_max_messages),
        bulkheads=BULKHEADS,
    )
    compartments = build_compartments(settings, source="test", tracer=NoOpTracer())
    try:
        yield compartments
    finally:
        for compartment in compartments.values():
            await compartment.engine.dispose()


@pytest.fixture
async def compartments() -> AsyncIterator[Mapping[str, Compartment]]:
    async for built in _built(group_commit_max_messages=32):
        yield built


async def test_every_group_gets_its_own_bulkhead_and_pool_sized_by_its_settings(
    compartments: Mapping[str, Compartment],
) -> None:
    assert set(compartments) == {COMMANDS, PROJECTIONS, POLICIES}
    for group, limits in BULKHEADS.groups.items():
        compartment = compartments[group]
        assert compartment.bulkhead.group == group
        assert compartment.bulkhead.limit == limits.concurrency
        assert compartment.engine.pool.size() == limits.pool_size  # type: ignore[attr-defined]
    engines = {id(compartment.engine) for compartment in compartments.values()}
    assert len(engines) == len(compartments)


async def test_commands_share_transactions_and_the_other_groups_never_do(
    compartments: Mapping[str, Compartment],
) -> None:
    assert isinstance(compartments[COMMANDS].open_unit_of_work(CONTEXT), SharedServiceUnitOfWork)
    for group in (PROJECTIONS, POLICIES):
        unit_of_work = compartments[group].open_unit_of_work(CONTEXT)
        assert isinstance(unit_of_work, OwnTransactionServiceUnitOfWork)


async def test_without_group_commit_commands_get_a_transaction_each_too() -> None:
    async for compartments in _built(group_commit_max_messages=1):
        unit_of_work = compartments[COMMANDS].open_unit_of_work(CONTEXT)
        assert isinstance(unit_of_work, OwnTransactionServiceUnitOfWork)
