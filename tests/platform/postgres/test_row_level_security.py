"""Row-level security as seen by the app and relay roles (never a superuser or owner)."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.postgres.engine import create_engine, current_tenant, tenant_transaction
from commerce.platform.postgres.tables import inbox, outbox, users
from tests.support.database import ProvisionedDatabase

from .factories import inbox_row, outbox_row, user_row

pytestmark = pytest.mark.integration

RLS_VIOLATION = "row-level security"


async def test_a_tenants_rows_are_invisible_to_another_tenant(app_engine: AsyncEngine) -> None:
    tenant_a, tenant_b = uuid4(), uuid4()
    row = user_row(tenant_a)
    async with tenant_transaction(app_engine, tenant_a) as conn:
        await conn.execute(insert(users), [row])

    async with tenant_transaction(app_engine, tenant_b) as conn:
        assert (await conn.execute(select(users.c.id).where(users.c.id == row["id"]))).all() == []
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 0
        changed = await conn.execute(
            update(users).where(users.c.id == row["id"]).values(display_name="Mallory")
        )
        assert changed.rowcount == 0

    async with tenant_transaction(app_engine, tenant_a) as conn:
        found = (await conn.execute(select(users).where(users.c.id == row["id"]))).one()
        assert found.display_name == "Ada"
        assert found.created_at.tzinfo is not None


@pytest.mark.parametrize(
    ("table", "make_row"),
    [(users, user_row), (outbox, outbox_row), (inbox, inbox_row)],
    ids=["users", "outbox", "inbox"],
)
async def test_writing_another_tenants_row_is_refused(
    app_engine: AsyncEngine, table: object, make_row: object
) -> None:
    tenant_a, tenant_b = uuid4(), uuid4()
    with pytest.raises(DBAPIError, match=RLS_VIOLATION):
        async with tenant_transaction(app_engine, tenant_a) as conn:
            await conn.execute(insert(table), [make_row(tenant_b)])  # type: ignore[arg-type, operator]


async def test_moving_a_row_to_another_tenant_is_refused(app_engine: AsyncEngine) -> None:
    tenant_a = uuid4()
    row = user_row(tenant_a)
    async with tenant_transaction(app_engine, tenant_a) as conn:
        await conn.execute(insert(users), [row])
    with pytest.raises(DBAPIError, match=RLS_VIOLATION):
        async with tenant_transaction(app_engine, tenant_a) as conn:
            await conn.execute(
                update(users).where(users.c.id == row["id"]).values(tenant_id=uuid4())
            )


async def test_without_a_tenant_nothing_is_visible_or_insertable(app_engine: AsyncEngine) -> None:
    tenant = uuid4()
    async with tenant_transaction(app_engine, tenant) as conn:
        await conn.execute(insert(users), [user_row(tenant)])
        await conn.execute(insert(inbox), [inbox_row(tenant)])

    async with app_engine.begin() as conn:
        assert await current_tenant(conn) is None
        assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 0
        assert (await conn.execute(select(func.count()).select_from(inbox))).scalar_one() == 0

    with pytest.raises(DBAPIError, match=RLS_VIOLATION):
        async with app_engine.begin() as conn:
            await conn.execute(insert(users), [user_row(tenant)])


async def test_the_tenant_does_not_leak_to_the_next_transaction_on_a_pooled_connection(
    provisioned_database: ProvisionedDatabase,
) -> None:
    engine = create_engine(provisioned_database.app_url, pool_size=1, max_overflow=0)
    try:
        tenant = uuid4()
        async with tenant_transaction(engine, tenant) as conn:
            first_pid = (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            await conn.execute(insert(users), [user_row(tenant)])
            assert await current_tenant(conn) == tenant

        async with engine.begin() as conn:
            assert (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one() == first_pid
            setting = text("SELECT current_setting('app.tenant_id', true)")
            assert (await conn.execute(setting)).scalar_one() == ""  # reset, not NULL
            assert await current_tenant(conn) is None
            assert (await conn.execute(select(func.count()).select_from(users))).scalar_one() == 0

        with pytest.raises(RuntimeError, match="boom"):
            async with tenant_transaction(engine, tenant) as conn:
                raise RuntimeError("boom")
        async with engine.connect() as conn:
            assert await current_tenant(conn) is None
    finally:
        await engine.dispose()


async def test_the_app_cannot_read_or_change_the_outbox(app_engine: AsyncEngine) -> None:
    tenant = uuid4()
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, tenant) as conn:
            await conn.execute(select(outbox.c.payload))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with tenant_transaction(app_engine, tenant) as conn:
            await conn.execute(update(outbox).values(sent_at=datetime.now(UTC)))


async def test_the_app_inserts_outbox_rows_one_at_a_time_or_in_batches(
    app_engine: AsyncEngine,
) -> None:
    tenant = uuid4()
    async with tenant_transaction(app_engine, tenant) as conn:
        single = await conn.execute(insert(outbox).values(**outbox_row(tenant)))
        assert single.inserted_primary_key is not None
        assert isinstance(single.inserted_primary_key[0], int)  # RETURNING position
        await conn.execute(insert(outbox), [outbox_row(tenant), outbox_row(tenant)])
        positions = (await conn.execute(select(outbox.c.position))).scalars().all()
    assert len(positions) == 3


async def test_the_relay_sees_every_tenants_outbox_but_not_users(
    app_engine: AsyncEngine, relay_engine: AsyncEngine
) -> None:
    rows = [outbox_row(uuid4()), outbox_row(uuid4())]
    for row in rows:
        async with tenant_transaction(app_engine, row["tenant_id"]) as conn:
            await conn.execute(insert(outbox), [row])
    ids = [row["message_id"] for row in rows]

    async with relay_engine.begin() as conn:
        seen = (
            await conn.execute(
                select(outbox.c.message_id, outbox.c.tenant_id, outbox.c.txid, outbox.c.payload)
                .where(outbox.c.message_id.in_(ids), outbox.c.sent_at.is_(None))
                .order_by(outbox.c.position)
            )
        ).all()
        assert [r.message_id for r in seen] == ids
        assert {r.tenant_id for r in seen} == {row["tenant_id"] for row in rows}
        assert all(isinstance(r.txid, int) for r in seen)
        assert seen[0].payload == {"email": "ada@example.com"}
        marked = await conn.execute(
            update(outbox).where(outbox.c.message_id.in_(ids)).values(sent_at=datetime.now(UTC))
        )
        assert marked.rowcount == 2

    with pytest.raises(DBAPIError, match="permission denied"):
        async with relay_engine.begin() as conn:
            await conn.execute(select(users.c.id).limit(1))
    with pytest.raises(DBAPIError, match="permission denied"):
        async with relay_engine.begin() as conn:
            await conn.execute(insert(outbox), [outbox_row(uuid4())])


async def test_the_relay_purges_old_inbox_rows_of_every_tenant(
    app_engine: AsyncEngine, relay_engine: AsyncEngine, admin_engine: AsyncEngine
) -> None:
    consumer = f"purge-{uuid4().hex[:8]}"
    for tenant in (uuid4(), uuid4()):
        async with tenant_transaction(app_engine, tenant) as conn:
            await conn.execute(insert(inbox), [inbox_row(tenant, consumer=consumer)])

    cutoff = datetime.now(UTC) + timedelta(seconds=1)
    async with relay_engine.begin() as conn:
        purged = await conn.execute(inbox.delete().where(inbox.c.received_at < cutoff))
    assert purged.rowcount >= 2
    async with admin_engine.connect() as conn:  # superuser: sees through RLS
        left = select(func.count()).select_from(inbox).where(inbox.c.consumer == consumer)
        assert (await conn.execute(left)).scalar_one() == 0

    with pytest.raises(DBAPIError, match="permission denied"):  # column-level SELECT only
        async with relay_engine.begin() as conn:
            await conn.execute(select(inbox.c.consumer).limit(1))
