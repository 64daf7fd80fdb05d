"""Roles, provisioning and migrations: least privilege, idempotency and input validation."""

import warnings
from uuid import UUID, uuid4

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, func, insert, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SAWarning
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.postgres.engine import (
    DatabaseUnavailableError,
    UnsafeDatabaseRoleError,
    check_role_is_safe,
    create_engine,
    ping,
    set_tenant,
    tenant_transaction,
)
from commerce.platform.postgres.migrations import TENANT_PREDICATE
from commerce.platform.postgres.provisioning import (
    alembic_config,
    downgrade,
    drop_database,
    migrate,
    provision,
)
from commerce.platform.postgres.tables import metadata, users
from commerce.webhooks.adapters import tables as webhook_tables
from tests.support.database import ProvisionedDatabase, provision_and_migrate, unique_database_name

from .factories import user_row

pytestmark = pytest.mark.integration
assert webhook_tables.webhook_endpoints.metadata is metadata  # its tables are compared too

TENANT_TABLES = (
    "users",
    "outbox",
    "inbox",
    "events",
    "snapshots",
    "user_directory",
    "catalog_items",
    "invoices",
    "order_summaries",
    "item_availability",
    "revenue_contributions",
    "revenue_daily",
    "webhook_endpoints",
    "webhook_deliveries",
    "webhook_attempts",
    "search_items",
)
UNREACHABLE = "postgresql://nobody@127.0.0.1:1/nowhere"


async def test_the_app_role_cannot_bypass_row_level_security(
    admin_engine: AsyncEngine, provisioned_database: ProvisionedDatabase
) -> None:
    db = provisioned_database
    async with admin_engine.connect() as conn:
        roles = {
            r.rolname: r
            for r in await conn.execute(
                text(
                    "SELECT rolname, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb,"
                    " rolcanlogin FROM pg_roles WHERE rolname = ANY(:names)"
                ),
                {"names": [db.owner, db.app_role, db.relay_role]},
            )
        }
        for name in (db.owner, db.app_role, db.relay_role):
            role = roles[name]
            assert role.rolcanlogin
            for flag in ("rolsuper", "rolbypassrls", "rolcreaterole", "rolcreatedb"):
                assert not getattr(role, flag), (name, flag)

        owners: dict[str, str] = dict(
            (
                await conn.execute(
                    text("SELECT tablename, tableowner FROM pg_tables WHERE schemaname = 'public'")
                )
            ).all()
        )
        assert {owners[t] for t in TENANT_TABLES} == {db.owner}

        flags = (
            await conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class"
                    " WHERE relname = ANY(:names) AND relnamespace = 'public'::regnamespace"
                ),
                {"names": list(TENANT_TABLES)},
            )
        ).all()
        assert sorted(flags) == sorted((t, True, True) for t in TENANT_TABLES)

        policies = (
            await conn.execute(
                text(
                    "SELECT tablename, policyname, roles::text[], qual, with_check"
                    " FROM pg_policies WHERE schemaname = 'public'"
                )
            )
        ).all()
        isolation = {p.tablename: p for p in policies if p.policyname == "tenant_isolation"}
        assert set(isolation) == set(TENANT_TABLES)
        for policy in isolation.values():
            assert policy.roles == ["public"]
            assert "current_setting('app.tenant_id'::text, true)" in policy.qual
            assert "NULLIF" in policy.qual
            assert policy.qual == policy.with_check
        relay = {p.tablename: p.roles for p in policies if p.policyname == "relay_all_tenants"}
        assert relay == {"outbox": [db.relay_role], "inbox": [db.relay_role]}
    assert "NULLIF(current_setting('app.tenant_id', true), '')::uuid" in TENANT_PREDICATE


async def test_role_safety_check(
    app_engine: AsyncEngine,
    relay_engine: AsyncEngine,
    owner_engine: AsyncEngine,
    admin_engine: AsyncEngine,
) -> None:
    await check_role_is_safe(app_engine)
    await check_role_is_safe(relay_engine)
    with pytest.raises(UnsafeDatabaseRoleError, match="owns table users"):
        await check_role_is_safe(owner_engine)
    with pytest.raises(UnsafeDatabaseRoleError, match="superuser"):
        await check_role_is_safe(admin_engine)
    with pytest.raises(UnsafeDatabaseRoleError, match="does not exist"):
        await check_role_is_safe(app_engine, ["users", "no_such_table"])


def _schema_diff(connection: Connection) -> list[object]:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Did not recognize type 'xid8'", SAWarning)
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


async def test_orm_tables_match_the_migrations(admin_engine: AsyncEngine) -> None:
    async with admin_engine.connect() as conn:
        diff = await conn.run_sync(_schema_diff)
    assert diff == []


async def test_migrate_and_provision_are_idempotent(
    postgres_admin_url: str, provisioned_database: ProvisionedDatabase, app_engine: AsyncEngine
) -> None:
    db = provisioned_database
    tenant = uuid4()
    row = user_row(tenant)
    async with tenant_transaction(app_engine, tenant) as conn:
        await conn.execute(insert(users), [row])

    await provision_and_migrate(postgres_admin_url, db.name)  # provision + migrate again
    await migrate(db.owner_url, app_role=db.app_role, relay_role=db.relay_role)

    async with tenant_transaction(app_engine, tenant) as conn:
        assert (await conn.execute(select(users.c.id))).scalars().all() == [row["id"]]
        await conn.execute(insert(users), [user_row(tenant)])  # grants survived
    owner = create_engine(db.owner_url)
    try:
        async with owner.connect() as conn:
            version = await conn.execute(text("SELECT version_num FROM alembic_version"))
            head = ScriptDirectory.from_config(alembic_config()).get_current_head()
            assert version.scalars().all() == [head]
    finally:
        await owner.dispose()


async def test_downgrade_to_base_and_upgrade_again(postgres_admin_url: str) -> None:
    name = unique_database_name()
    try:
        db = await provision_and_migrate(postgres_admin_url, name)
        await downgrade(db.owner_url, revision="base")
        engine = create_engine(db.owner_url)
        try:
            async with engine.connect() as conn:
                tables = text(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
                    " AND tablename = ANY(:names)"
                )
                assert (await conn.execute(tables, {"names": list(TENANT_TABLES)})).scalar() == 0
            await migrate(db.owner_url)
            app = create_engine(db.app_url)
            try:
                async with tenant_transaction(app, uuid4()) as conn:
                    assert (
                        await conn.execute(select(func.count()).select_from(users))
                    ).scalar() == 0
            finally:
                await app.dispose()
        finally:
            await engine.dispose()
    finally:
        await drop_database(postgres_admin_url, name)


@pytest.mark.parametrize(
    "bad",
    ["", "Commerce", "1db", "db-name", 'x"; DROP ROLE postgres; --', "a" * 64, "pg_shadow", "é"],
)
async def test_invalid_names_are_rejected_before_connecting(bad: str) -> None:
    secrets = {"owner_password": "x", "app_password": "x", "relay_password": "x"}
    with pytest.raises(ValueError, match="invalid"):
        await provision(UNREACHABLE, database=bad, **secrets)
    for role in ("owner", "app_role", "relay_role"):
        with pytest.raises(ValueError, match="invalid"):
            await provision(UNREACHABLE, database="commerce", **{role: bad}, **secrets)
    with pytest.raises(ValueError, match="invalid"):
        await drop_database(UNREACHABLE, bad)
    with pytest.raises(ValueError, match="invalid"):
        await migrate(UNREACHABLE, app_role=bad)
    with pytest.raises(ValueError, match="invalid"):
        alembic_config(relay_role=bad)


@pytest.mark.parametrize("database", ["postgres", "template0", "template1"])
async def test_system_databases_are_refused(database: str) -> None:
    with pytest.raises(ValueError, match="system database"):
        await provision(
            UNREACHABLE, database=database, owner_password="x", app_password="x", relay_password="x"
        )
    with pytest.raises(ValueError, match="system database"):
        await drop_database(UNREACHABLE, database)


async def test_an_administrator_role_is_never_reconfigured(postgres_admin_url: str) -> None:
    admin = make_url(postgres_admin_url).username or "postgres"
    name = unique_database_name()
    with pytest.raises(ValueError, match="superuser"):
        await provision(
            postgres_admin_url,
            database=name,
            owner=admin,
            owner_password="x",
            app_password="x",
            relay_password="x",
        )
    await drop_database(postgres_admin_url, name)  # nothing was created; no-op


async def test_passwords_are_quoted_by_the_server(postgres_admin_url: str) -> None:
    name = unique_database_name()
    try:
        await provision(
            postgres_admin_url,
            database=name,
            owner_password="o'wner\\pass; DROP DATABASE postgres; --",
            app_password="$$app$$",
            relay_password="r'e'l'a'y",
        )
    finally:
        await drop_database(postgres_admin_url, name)


async def test_roles_must_differ() -> None:
    with pytest.raises(ValueError, match="different"):
        await provision(
            UNREACHABLE,
            database="commerce",
            owner="commerce_app",
            owner_password="x",
            app_password="x",
            relay_password="x",
        )


async def test_ping(app_engine: AsyncEngine) -> None:
    await ping(app_engine)
    engine = create_engine(UNREACHABLE)
    try:
        with pytest.raises(DatabaseUnavailableError, match="unavailable"):
            await ping(engine, timeout_seconds=5)
    finally:
        await engine.dispose()


async def test_engine_urls_and_tenant_argument(app_engine: AsyncEngine) -> None:
    assert create_engine("postgresql://u@h/db").url.drivername == "postgresql+asyncpg"
    assert create_engine("postgres://u@h/db").url.drivername == "postgresql+asyncpg"
    with pytest.raises(ValueError, match="postgresql"):
        create_engine("postgresql+psycopg://u@h/db")
    async with app_engine.begin() as conn:
        with pytest.raises(TypeError, match="UUID"):
            await set_tenant(conn, str(uuid4()))  # type: ignore[arg-type]
        await set_tenant(conn, UUID(int=1))
