"""Identity commands through the worker, and the user directory following them.

ChangeProfile, AssignRole and DeactivateUser go in through the broker; the relay publishes
their events on the users stream, where the user directory projection applies each one
(by version) instead of setting them aside as skipped.
"""

import asyncio

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.identity.domain.values import Role
from commerce.identity.messages.commands import (
    AssignRole,
    ChangeProfile,
    DeactivateUser,
    RegisterUser,
)
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import user_directory, users
from tests.support.database import ProvisionedDatabase
from tests.support.shop import Shop, eventually
from tests.support.worker import running_relay, running_worker, settings_for

pytestmark = pytest.mark.integration


async def test_profile_roles_and_deactivation_reach_the_user_and_its_directory_row(
    provisioned_database: ProvisionedDatabase,
    rabbit_url: str,
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
) -> None:
    shop = Shop(app_engine, relay_engine)

    async def version() -> int:
        async with tenant_transaction(app_engine, shop.tenant) as connection:
            query = select(users.c.version).where(users.c.id == shop.user_id)
            return int(await connection.scalar(query) or 0)

    async def directory() -> tuple[object, ...] | None:
        query = select(
            user_directory.c.display_name,
            user_directory.c.status,
            user_directory.c.roles,
            user_directory.c.version,
        ).where(user_directory.c.user_id == shop.user_id)
        async with tenant_transaction(app_engine, shop.tenant) as connection:
            row = (await connection.execute(query)).first()
        return None if row is None else tuple(row)

    settings = settings_for(provisioned_database, rabbit_url)
    async with running_worker(settings) as service, running_relay(service):
        await shop.send(
            service,
            RegisterUser(
                user_id=shop.user_id,
                email="ada@example.com",
                display_name="Ada",
                password="correct horse battery staple",
            ),
        )
        await eventually(version, 1)
        for command, expected in (
            (ChangeProfile(user_id=shop.user_id, display_name="Ada King"), 2),
            (AssignRole(user_id=shop.user_id, role=Role.STAFF), 3),
            (DeactivateUser(user_id=shop.user_id), 4),
        ):
            await shop.send(service, command)
            await eventually(version, expected)
        await eventually(directory, ("Ada King", "deactivated", ["customer", "staff"], 4))
        await asyncio.sleep(0.5)
