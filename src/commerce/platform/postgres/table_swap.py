"""Fresh copies of live tables, and swapping a filled copy in for its table atomically.

A copy is ``CREATE TABLE <t>_rebuild (LIKE <t> INCLUDING ALL)``: the same columns in the
same order, defaults, constraints and indexes (under generated names), no row-level
security and no grants, so only its owner (the rebuild) sees it while it fills.

:func:`swap_in` runs inside the caller's transaction, which must hold a lock on the live
table: it gives the copy the live table's grants, row-level security flags and policies,
drops the live table, renames the copy and its indexes to the live names. Readers queued
on the lock resume on the new table when the transaction commits (Postgres looks the name
up again after waiting for a lock), so they never see an empty or half-filled table.
"""

from __future__ import annotations

import re

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.postgres.provisioning import quote_identifier

__all__ = ["create_copy", "drop_copy", "lock_tables", "swap_in"]

_INDEX = re.compile(r"^CREATE (UNIQUE )?INDEX \S+ ON \S+ (?P<rest>.*)$")
_RLS = text("SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = :t ::regclass")
_POLICIES = text(
    "SELECT policyname, permissive, roles, cmd, qual, with_check FROM pg_policies"
    " WHERE schemaname = 'public' AND tablename = :t ORDER BY policyname"
)
_GRANTS = text(
    "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE a.grantee::regrole::text END AS grantee,"
    " a.privilege_type FROM pg_class c, aclexplode(c.relacl) a"
    " WHERE c.oid = :t ::regclass AND a.grantee <> c.relowner ORDER BY 1, 2"
)
_INDEXES = text(
    "SELECT i.indexrelid::regclass::text AS name, pg_get_indexdef(i.indexrelid) AS definition"
    " FROM pg_index i WHERE i.indrelid = :t ::regclass ORDER BY 1"
)


def _q(name: str) -> str:
    return quote_identifier(name)


async def create_copy(connection: AsyncConnection, live: Table, copy: Table) -> None:
    """(Re)create ``copy`` as an empty twin of ``live``."""
    await connection.execute(text(f"DROP TABLE IF EXISTS {_q(copy.name)}"))
    await connection.execute(
        text(f"CREATE TABLE {_q(copy.name)} (LIKE {_q(live.name)} INCLUDING ALL)")
    )


async def drop_copy(connection: AsyncConnection, copy: Table) -> None:
    """Drop ``copy`` if it exists (an abandoned rebuild)."""
    await connection.execute(text(f"DROP TABLE IF EXISTS {_q(copy.name)}"))


async def lock_tables(connection: AsyncConnection, tables: list[Table], mode: str) -> None:
    """``LOCK TABLE`` each of ``tables`` in ``mode``, in name order (no deadlock between two
    lockers of the same set)."""
    if mode not in {"EXCLUSIVE", "ACCESS EXCLUSIVE"}:
        raise ValueError(f"unexpected lock mode {mode!r}")
    for table in sorted(tables, key=lambda t: t.name):
        await connection.execute(text(f"LOCK TABLE {_q(table.name)} IN {mode} MODE"))


def _index_shape(definition: str) -> tuple[bool, str]:
    match = _INDEX.match(definition)
    if match is None:
        raise ValueError(f"unexpected index definition: {definition}")
    return bool(match.group(1)), match["rest"]


def _roles(roles: object) -> str:
    names = roles if isinstance(roles, list) else str(roles).strip("{}").split(",")
    return ", ".join("PUBLIC" if n == "public" else _q(str(n)) for n in names)


async def swap_in(connection: AsyncConnection, live: Table, copy: Table) -> None:
    """Replace ``live`` by ``copy`` (grants, security, policies, index names included)."""
    live_name, copy_name = live.name, copy.name
    statements: list[str] = []
    for grantee, privilege in (await connection.execute(_GRANTS, {"t": live_name})).all():
        to = grantee if grantee == "PUBLIC" else _q(grantee)
        statements.append(f"GRANT {privilege} ON {_q(copy_name)} TO {to}")
    enabled, forced = (await connection.execute(_RLS, {"t": live_name})).one()
    if enabled:
        statements.append(f"ALTER TABLE {_q(copy_name)} ENABLE ROW LEVEL SECURITY")
    if forced:
        statements.append(f"ALTER TABLE {_q(copy_name)} FORCE ROW LEVEL SECURITY")
    for name, permissive, roles, cmd, qual, check in await connection.execute(
        _POLICIES, {"t": live_name}
    ):
        policy = f"CREATE POLICY {_q(name)} ON {_q(copy_name)} AS {permissive} FOR {cmd}"
        policy += f" TO {_roles(roles)}"
        if qual:
            policy += f" USING ({qual})"
        if check:
            policy += f" WITH CHECK ({check})"
        statements.append(policy)
    live_indexes = {
        _index_shape(definition): name
        for name, definition in await connection.execute(_INDEXES, {"t": live_name})
    }
    renames: list[tuple[str, str]] = []
    for name, definition in await connection.execute(_INDEXES, {"t": copy_name}):
        target = live_indexes.get(_index_shape(definition))
        if target is None:
            raise ValueError(f"{copy_name} has an index {live_name} lacks: {definition}")
        renames.append((name, target))
    statements.append(f"DROP TABLE {_q(live_name)}")
    statements.append(f"ALTER TABLE {_q(copy_name)} RENAME TO {_q(live_name)}")
    statements.extend(f"ALTER INDEX {_q(old)} RENAME TO {_q(new)}" for old, new in renames)
    for statement in statements:
        await connection.execute(text(statement))
