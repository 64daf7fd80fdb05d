"""Async engine, tenant-scoped transactions and readiness checks (SQLAlchemy Core + asyncpg).

Tenant isolation is enforced by Postgres row-level security: every tenant table's policy
compares ``tenant_id`` with the transaction-local setting ``app.tenant_id``. Work for a
tenant therefore runs inside :func:`tenant_transaction`, which sets it with
``set_config(..., is_local => true)`` so it can never leak to the next checkout of a pooled
connection. A transaction without a tenant sees no rows and cannot insert any (fail closed).
"""

import asyncio
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import bindparam, event, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.types import Text

from commerce.platform.postgres.tables import TENANT_TABLES

__all__ = [
    "DatabaseUnavailableError",
    "UnsafeDatabaseRoleError",
    "check_role_is_safe",
    "create_engine",
    "current_tenant",
    "driver_of",
    "json_text",
    "ping",
    "set_tenant",
    "tenant_transaction",
]

_SET_TENANT = text("SELECT set_config('app.tenant_id', :tid, true)")
_CURRENT_TENANT = text("SELECT NULLIF(current_setting('app.tenant_id', true), '')")
_SELECT_1 = text("SELECT 1")
_ROLE_FLAGS = text(
    "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
)
_OWNED_OR_UNPROTECTED = text(
    "SELECT c.relname, pg_has_role(c.relowner, 'MEMBER') AS owned,"
    " c.relrowsecurity AND c.relforcerowsecurity AS protected"
    " FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'"
    " AND c.relname = ANY(:names)"
).bindparams(bindparam("names", type_=ARRAY(Text)))


class DatabaseUnavailableError(RuntimeError):
    """The database did not answer a readiness probe (down, unreachable or too slow)."""


class UnsafeDatabaseRoleError(RuntimeError):
    """The service's database role could bypass row-level security; refuse to run with it."""


def create_engine(
    dsn: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 5,
    pool_timeout: float = 30.0,
    pool_recycle: int = 1800,
    application_name: str = "commerce",
    statement_timeout_ms: int | None = None,
    echo: bool = False,
) -> AsyncEngine:
    """Create the async engine (asyncpg driver; ``postgresql://`` URLs are converted).

    A pooled connection the server closed (a restart, an idle timeout, a terminated
    backend) is replaced at checkout, without a round trip: asyncpg notices the closed
    socket while the connection is idle, and :func:`_refuse_closed` checks that flag.
    ``pool_pre_ping`` would send ``BEGIN``, ``;`` and ``ROLLBACK`` on every checkout, three
    round trips per message (see docs/performance.md). A connection lost silently
    (no FIN, e.g. a proxy) fails its first statement instead, SQLAlchemy invalidates it,
    and the message is retried like any transient failure.
    """
    url = make_url(dsn)
    if url.drivername in {"postgresql", "postgres"}:
        url = url.set(drivername="postgresql+asyncpg")
    elif url.drivername != "postgresql+asyncpg":
        raise ValueError(
            f"expected a postgresql:// or postgresql+asyncpg:// URL, got {url.drivername}"
        )
    server_settings = {"application_name": application_name}
    if statement_timeout_ms is not None:  # a statement stuck on a lock fails, then retries
        server_settings["statement_timeout"] = str(statement_timeout_ms)
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=pool_recycle,
        echo=echo,
        hide_parameters=True,  # error text and logs never show bound values (PII, hashes)
        json_serializer=json_text,
        json_deserializer=orjson.loads,
        connect_args={"server_settings": server_settings},
    )
    event.listen(engine.sync_engine, "checkout", _refuse_closed)
    return engine


def _refuse_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Pool checkout hook: a connection the server closed is replaced (the pool retries)."""
    driver = getattr(dbapi_connection, "driver_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError("the server closed this pooled connection")


def json_text(value: Any) -> str:
    """``value`` as JSON text, for ``json``/``jsonb`` parameters (orjson)."""
    return orjson.dumps(value).decode()


async def driver_of(conn: AsyncConnection) -> Any:
    """The asyncpg connection under ``conn``, inside the same transaction.

    The per-message statements run on it directly: SQLAlchemy's statement machinery costs
    several times asyncpg's own work per statement (docs/performance.md). Parameters of
    ``jsonb`` columns are JSON text (:func:`json_text`), as SQLAlchemy's codec expects.
    """
    return (await conn.get_raw_connection()).driver_connection


async def set_tenant(conn: AsyncConnection, tenant_id: UUID) -> None:
    """Scope the connection's current transaction to ``tenant_id`` (transaction-local)."""
    if not isinstance(tenant_id, UUID):
        raise TypeError(f"tenant_id must be a UUID, not {type(tenant_id).__name__}")
    await conn.execute(_SET_TENANT, {"tid": str(tenant_id)})


async def current_tenant(conn: AsyncConnection) -> UUID | None:
    """Return the tenant the current transaction is scoped to, or ``None``."""
    value = (await conn.execute(_CURRENT_TENANT)).scalar_one()
    return None if value is None else UUID(value)


@asynccontextmanager
async def tenant_transaction(
    engine: AsyncEngine, tenant_id: UUID
) -> AsyncIterator[AsyncConnection]:
    """Begin a transaction scoped to ``tenant_id``; commit on success, roll back on error.

    Usage: ``async with tenant_transaction(engine, tenant_id) as conn: ...``.
    """
    async with engine.begin() as conn:
        await set_tenant(conn, tenant_id)
        yield conn


async def ping(engine: AsyncEngine, *, timeout_seconds: float = 2.0) -> None:
    """Check that the database answers ``SELECT 1`` within ``timeout_seconds`` (readiness).

    Raises :class:`DatabaseUnavailableError` with the cause chained.
    """
    try:
        async with asyncio.timeout(timeout_seconds), engine.connect() as conn:
            await conn.execute(_SELECT_1)
    except TimeoutError as exc:
        raise DatabaseUnavailableError(
            f"database did not answer SELECT 1 within {timeout_seconds:g}s"
        ) from exc
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailableError(f"database unavailable: {exc}") from exc


_TENANT_TABLE_NAMES = tuple(table.name for table in TENANT_TABLES)


async def check_role_is_safe(
    engine: AsyncEngine, tables: Iterable[str] = _TENANT_TABLE_NAMES
) -> None:
    """Refuse a role for which row-level security would not apply.

    Fails when the engine's role is a superuser, has ``BYPASSRLS``, owns (directly or by
    membership) one of ``tables``, or when one of them lacks ``ENABLE``/``FORCE ROW LEVEL
    SECURITY``. Meant for the service's startup, with the app role's engine.
    """
    names = list(tables)
    problems: list[str] = []
    async with engine.connect() as conn:
        role, superuser, bypassrls = (await conn.execute(_ROLE_FLAGS)).one()
        if superuser:
            problems.append(f"role {role} is a superuser")
        if bypassrls:
            problems.append(f"role {role} has BYPASSRLS")
        rows = (await conn.execute(_OWNED_OR_UNPROTECTED, {"names": names})).all()
        await conn.rollback()
    found = {name for name, _, _ in rows}
    problems.extend(f"table {name} does not exist" for name in names if name not in found)
    problems.extend(f"role {role} owns table {name}" for name, owned, _ in rows if owned)
    problems.extend(
        f"table {name} lacks ENABLE/FORCE ROW LEVEL SECURITY"
        for name, _, protected in rows
        if not protected
    )
    if problems:
        raise UnsafeDatabaseRoleError("; ".join(problems))
