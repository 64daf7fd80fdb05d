"""SIGTERM to a real ``commerce run worker`` in the middle of a stream of commands.

The worker must drain: finish what it is handling, ack it, and exit 0 within its graceful
timeout. Nothing is left half-done: a command it committed is never delivered again, and
one it did not commit is delivered to the next worker, which applies it once.
"""

import asyncio
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.config import PasswordHashingSettings
from commerce.identity.messages.channels import REGISTER_USER
from commerce.identity.messages.commands import RegisterUser
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox, users
from tests.support.brokers import BrokerProbe, probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.drill import wait_ready
from tests.support.processes import ServiceProcesses
from tests.support.tansu import free_port
from tests.support.waiting import eventually
from tests.support.worker import environment_for, settings_for
from tests.support.worker_logs import processed

pytestmark = pytest.mark.e2e

COMMANDS = 300
STOP_AFTER = 40  # SIGTERM once this many commands are applied: the stream still flows
GRACEFUL_TIMEOUT = 30.0  # uvicorn's timeout_graceful_shutdown in `commerce run worker`


async def _users(engine: AsyncEngine, tenant: UUID) -> set[UUID]:
    async with tenant_transaction(engine, tenant) as connection:
        return set((await connection.scalars(select(users.c.id))).all())


async def _send_stream(
    probe: BrokerProbe, style: HeaderStyle, tenant: UUID, commands: list[RegisterUser]
) -> dict[str, UUID]:
    """Publish ``commands`` at a steady pace; returns their message ids -> user ids."""
    sent: dict[str, UUID] = {}
    for command in commands:
        envelope = Envelope.new(
            type=RegisterUser.message_type,
            source="/tests/sigterm",
            tenant_id=tenant,
            subject=command.aggregate_key(),
        )
        headers = envelope.headers(style) | {"content-type": "application/json"}
        await probe.send_command(
            REGISTER_USER.name, command.wire_body(), headers, command.aggregate_key()
        )
        sent[str(envelope.id)] = command.user_id
        await asyncio.sleep(0.02)
    return sent


async def test_sigterm_drains_the_worker_and_a_restart_applies_the_rest_once(
    provisioned_database: ProvisionedDatabase,
    broker_url: str,
    app_engine: AsyncEngine,
    tmp_path: Path,
) -> None:
    settings = settings_for(provisioned_database, broker_url)
    settings.log.level = "DEBUG"  # the per-message lines read here are DEBUG (ADR 0027)
    settings.http.port = free_port()
    # Hashing takes a few milliseconds, so commands are in flight when SIGTERM comes.
    settings.passwords = PasswordHashingSettings(memory_kib=8192, time_cost=2, parallelism=1)
    style = HeaderStyle.KAFKA if broker_url.startswith("kafka") else HeaderStyle.RABBIT
    tenant = uuid4()
    commands = [
        RegisterUser(
            user_id=uuid4(),
            email=f"sigterm-{index}-{tenant.hex[:8]}@example.com",
            display_name=f"Stream {index}",
            password="correct horse battery staple",
        )
        for index in range(COMMANDS)
    ]
    probe = await probe_for(settings)
    try:
        with ServiceProcesses(environment_for(settings), tmp_path) as services:
            services.start("worker")
            await wait_ready(settings, timeout=90)
            stream = asyncio.create_task(_send_stream(probe, style, tenant, commands))

            async def applied_some() -> bool:
                return len(await _users(app_engine, tenant)) >= STOP_AFTER

            await eventually("the worker to apply a part of the stream", applied_some)
            assert not stream.done(), "the stream still flows when SIGTERM comes"
            code = await asyncio.to_thread(services.stop, "worker", GRACEFUL_TIMEOUT)
            committed = await _users(app_engine, tenant)
            first_run = processed(services.log_path("worker", 1).read_text())
            sent = await stream

            services.start("worker")
            await wait_ready(settings, timeout=90)

            async def applied_all() -> bool:
                return len(await _users(app_engine, tenant)) == COMMANDS

            await eventually("the new worker to apply the rest", applied_all)
            second_code = await asyncio.to_thread(services.stop, "worker", GRACEFUL_TIMEOUT)
            second_run = processed(services.log_path("worker", 2).read_text())
    finally:
        await probe.close()
    async with tenant_transaction(app_engine, tenant) as connection:
        inbox_rows = await connection.scalar(
            select(func.count())
            .select_from(inbox)
            .where(inbox.c.consumer == REGISTER_USER.consumer)
        )

    assert code == 0, "SIGTERM: a clean exit within the graceful timeout"
    assert second_code == 0
    assert STOP_AFTER <= len(committed) < COMMANDS, "stopped in the middle of the stream"
    ours = set(sent)
    first = {m.message_id: m.detail for m in first_run if m.message_id in ours}
    second = [(m.message_id, m.detail) for m in second_run if m.message_id in ours]
    assert set(first.values()) == {"applied"}
    assert {sent[message_id] for message_id in first} == committed, (
        "every command committed before the exit was finished (processed to the end)"
    )
    assert [outcome for _, outcome in second if outcome != "applied"] == [], (
        "no committed command was delivered again: each was acked before the exit"
    )
    assert {message_id for message_id, _ in second} == ours - first.keys(), (
        "every command not committed was delivered to the next worker and applied"
    )
    assert len(second) == len(ours - first.keys()), "each of them once"
    assert await _users(app_engine, tenant) == set(sent.values())
    assert inbox_rows == COMMANDS, "every command applied exactly once"
