"""Provision the database, its least-privilege roles, and run the Alembic migrations.

Three roles (see ``docs/adr/0002-tenant-isolation-and-database-roles.md``):

- the **owner** owns the database, the ``public`` schema and every table; it runs migrations;
- the **app** role is what the service logs in as: no superuser, no ``BYPASSRLS``, not an
  owner, so row-level security always applies to it;
- the **relay** role publishes and purges the outbox/inbox across all tenants.

Utility statements (``CREATE ROLE``, ``GRANT``...) cannot take bind parameters, so every
identifier is validated against :data:`IDENTIFIER_PATTERN` and the statements are built by
the server's own ``format('%I', ...)`` / ``format('%L', ...)`` from bound parameters.
"""

import importlib.util
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import asyncpg
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from commerce.platform.postgres.tables import metadata

__all__ = [
    "DEFAULT_APP_ROLE",
    "DEFAULT_OWNER_ROLE",
    "DEFAULT_RELAY_ROLE",
    "IDENTIFIER_PATTERN",
    "MIGRATIONS_DIR",
    "alembic_config",
    "downgrade",
    "drop_database",
    "migrate",
    "provision",
    "quote_identifier",
    "role_dsn",
    "validate_identifier",
]

DEFAULT_OWNER_ROLE = "commerce_owner"
DEFAULT_APP_ROLE = "commerce_app"
DEFAULT_RELAY_ROLE = "commerce_relay"

#: Role and database names we accept: lower-case, unquoted-identifier shaped, ≤ 63 bytes.
IDENTIFIER_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")

#: The Alembic script location; revisions live directly in it (no ``versions/`` folder).
MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1"})
_ROLE_OPTIONS = "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS"


def validate_identifier(name: str, *, kind: str = "identifier") -> str:
    """Return ``name`` if it is a safe role/database name, else raise ``ValueError``."""
    if not isinstance(name, str) or IDENTIFIER_PATTERN.fullmatch(name) is None:
        raise ValueError(f"invalid {kind} name {name!r}: must match {IDENTIFIER_PATTERN.pattern}")
    if name.startswith("pg_"):
        raise ValueError(f"invalid {kind} name {name!r}: the pg_ prefix is reserved")
    return name


def _validate_database(name: str) -> None:
    validate_identifier(name, kind="database")
    if name in _SYSTEM_DATABASES:
        raise ValueError(f"invalid database name {name!r}: a system database")


def quote_identifier(name: str) -> str:
    """Quote an identifier like Postgres' ``quote_ident`` (always quoted, ``"`` doubled)."""
    if "\x00" in name:
        raise ValueError("identifiers cannot contain NUL")
    return '"' + name.replace('"', '""') + '"'


def role_dsn(base_dsn: str, *, user: str, password: str | None, database: str) -> str:
    """Return ``base_dsn`` (a ``postgresql://`` URL) with another user, password and database."""
    url = make_url(base_dsn).set(username=user, password=password, database=database)
    return url.render_as_string(hide_password=False)


def _asyncpg_dsn(dsn: str, *, database: str | None = None) -> str:
    url = make_url(dsn)
    if url.drivername not in {"postgresql", "postgres", "postgresql+asyncpg"}:
        raise ValueError(f"not a Postgres URL for asyncpg: {url.drivername!r}")
    url = url.set(drivername="postgresql")
    if database is not None:
        url = url.set(database=database)
    return url.render_as_string(hide_password=False)


def _sqlalchemy_dsn(dsn: str) -> str:
    url = make_url(dsn)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


async def _execute_formatted(conn: asyncpg.Connection, template: str, *args: str) -> None:
    """Build a utility statement with the server's ``format()`` and run it."""
    statement = await conn.fetchval(
        "SELECT format($1::text, VARIADIC $2::text[])", template, list(args)
    )
    await conn.execute(statement)


async def _ensure_role(conn: asyncpg.Connection, role: str, password: str) -> None:
    existing = await conn.fetchrow(
        "SELECT rolsuper OR rolname = current_user AS privileged FROM pg_roles WHERE rolname = $1",
        role,
    )
    if existing is not None and existing["privileged"]:
        # ALTER ROLE below would demote it: never reconfigure an administrator.
        raise ValueError(f"invalid role name {role!r}: an existing superuser or the admin itself")
    if existing is None:
        try:
            await _execute_formatted(
                conn, f"CREATE ROLE %I WITH {_ROLE_OPTIONS} PASSWORD %L", role, password
            )
        except asyncpg.DuplicateObjectError:  # created concurrently: fall through to ALTER
            pass
        else:
            return
    await _execute_formatted(
        conn, f"ALTER ROLE %I WITH {_ROLE_OPTIONS} PASSWORD %L", role, password
    )


async def _ensure_database(conn: asyncpg.Connection, database: str, owner: str) -> None:
    exists = await conn.fetchval("SELECT true FROM pg_database WHERE datname = $1", database)
    if not exists:
        try:
            await _execute_formatted(conn, "CREATE DATABASE %I OWNER %I", database, owner)
        except asyncpg.DuplicateDatabaseError:
            pass
        else:
            return
    await _execute_formatted(conn, "ALTER DATABASE %I OWNER TO %I", database, owner)


async def provision(
    admin_dsn: str,
    *,
    database: str,
    owner: str = DEFAULT_OWNER_ROLE,
    owner_password: str,
    app_role: str = DEFAULT_APP_ROLE,
    app_password: str,
    relay_role: str = DEFAULT_RELAY_ROLE,
    relay_password: str,
) -> None:
    """Create (or bring up to date) the three roles and the database; idempotent.

    ``admin_dsn`` must log in as a role allowed to create roles and databases (a superuser
    in development). Existing roles get their attributes and passwords reset. The database
    is owned by ``owner``; ``PUBLIC`` loses every privilege on it and on schema ``public``;
    the app and relay roles get ``CONNECT`` and ``USAGE`` only. Table privileges are granted
    by the migrations.
    """
    _validate_database(database)
    for role in (owner, app_role, relay_role):
        validate_identifier(role, kind="role")
    if len({owner, app_role, relay_role}) != 3:
        raise ValueError("owner, app and relay roles must be three different roles")

    conn = await asyncpg.connect(_asyncpg_dsn(admin_dsn))
    try:
        await _ensure_role(conn, owner, owner_password)
        await _ensure_role(conn, app_role, app_password)
        await _ensure_role(conn, relay_role, relay_password)
        await _ensure_database(conn, database, owner)
        await _execute_formatted(conn, "REVOKE ALL ON DATABASE %I FROM PUBLIC", database)
        await _execute_formatted(
            conn, "GRANT CONNECT ON DATABASE %I TO %I, %I", database, app_role, relay_role
        )
    finally:
        await conn.close()

    conn = await asyncpg.connect(_asyncpg_dsn(admin_dsn, database=database))
    try:
        async with conn.transaction():
            await _execute_formatted(conn, "ALTER SCHEMA public OWNER TO %I", owner)
            await conn.execute("REVOKE ALL ON SCHEMA public FROM PUBLIC")
            await _execute_formatted(
                conn, "GRANT USAGE ON SCHEMA public TO %I, %I", app_role, relay_role
            )
    finally:
        await conn.close()


async def drop_database(admin_dsn: str, database: str) -> None:
    """Drop ``database`` if it exists, disconnecting its sessions (for tests). Roles stay."""
    _validate_database(database)
    conn = await asyncpg.connect(_asyncpg_dsn(admin_dsn))
    try:
        await _execute_formatted(conn, "DROP DATABASE IF EXISTS %I WITH (FORCE)", database)
    finally:
        await conn.close()


def alembic_config(
    *, app_role: str = DEFAULT_APP_ROLE, relay_role: str = DEFAULT_RELAY_ROLE
) -> Config:
    """Build the Alembic configuration in code (there is no ``alembic.ini``).

    Revisions live directly in :data:`MIGRATIONS_DIR`; the role names the revisions grant
    privileges to travel in ``config.attributes``.
    """
    validate_identifier(app_role, kind="role")
    validate_identifier(relay_role, kind="role")
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")  # paths may contain spaces or commas
    config.set_main_option("version_locations", str(MIGRATIONS_DIR))
    config.set_main_option("file_template", "v%%(rev)s_%%(slug)s")
    config.set_main_option("truncate_slug_length", "40")
    config.set_main_option("timezone", "UTC")
    if importlib.util.find_spec("ruff") is not None:  # dev only: new revisions come out lint-clean
        hooks = {
            "ruff_fix": "check --fix --quiet REVISION_SCRIPT_FILENAME",
            "ruff_format": "format --quiet REVISION_SCRIPT_FILENAME",
        }
        config.set_section_option("post_write_hooks", "hooks", ", ".join(hooks))
        for hook, options in hooks.items():
            config.set_section_option("post_write_hooks", f"{hook}.type", "module")
            config.set_section_option("post_write_hooks", f"{hook}.module", "ruff")
            config.set_section_option("post_write_hooks", f"{hook}.options", options)
    config.attributes["app_role"] = app_role
    config.attributes["relay_role"] = relay_role
    return config


def _run_migrations(connection: Connection, config: Config, revision: str, *, up: bool) -> None:
    """What an ``env.py`` would do, run in-process (see the ADR for why there is none)."""
    script = ScriptDirectory.from_config(config)

    def steps(current: Any, _context: Any) -> Sequence[Any]:
        if up:
            return script._upgrade_revs(revision, current)
        return script._downgrade_revs(revision, current)

    with EnvironmentContext(config, script, fn=steps, destination_rev=revision) as env:
        env.configure(
            connection=connection,
            target_metadata=metadata,
            transactional_ddl=True,
        )
        with env.begin_transaction():
            # Replicas starting together migrate one after the other; the later ones find
            # the database at head (the version is read after the lock is taken).
            connection.execute(text("SELECT pg_advisory_xact_lock(hashtext('commerce.migrate'))"))
            env.run_migrations()


async def _run(owner_dsn: str, config: Config, revision: str, *, up: bool) -> None:
    engine = create_async_engine(_sqlalchemy_dsn(owner_dsn), poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.run_sync(_run_migrations, config, revision, up=up)
            await conn.commit()
    finally:
        await engine.dispose()


async def migrate(
    owner_dsn: str,
    *,
    app_role: str = DEFAULT_APP_ROLE,
    relay_role: str = DEFAULT_RELAY_ROLE,
    revision: str = "head",
) -> None:
    """Upgrade the schema to ``revision`` as the owner (idempotent: at head it is a no-op)."""
    await _run(
        owner_dsn, alembic_config(app_role=app_role, relay_role=relay_role), revision, up=True
    )


async def downgrade(
    owner_dsn: str,
    *,
    revision: str,
    app_role: str = DEFAULT_APP_ROLE,
    relay_role: str = DEFAULT_RELAY_ROLE,
) -> None:
    """Downgrade the schema to ``revision`` (``"base"`` removes every table)."""
    config = alembic_config(app_role=app_role, relay_role=relay_role)
    await _run(owner_dsn, config, revision, up=False)
