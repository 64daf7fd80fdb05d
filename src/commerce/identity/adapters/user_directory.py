"""Read models kept by projections, over SQLAlchemy Core (row-level security applies)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, case, func, literal
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.identity.application.directory import DirectoryChange, DirectoryEntry
from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.tables import user_directory

__all__ = ["SqlUserDirectory"]


# The per-event upsert, on asyncpg directly (``database.driver_of``).
_RECORD = """
    INSERT INTO user_directory
        (tenant_id, user_id, email, display_name, version, registered_at, status, roles)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (tenant_id, user_id) DO UPDATE SET
        email = EXCLUDED.email, display_name = EXCLUDED.display_name,
        version = EXCLUDED.version, status = EXCLUDED.status, roles = EXCLUDED.roles,
        updated_at = now()
    WHERE user_directory.version < EXCLUDED.version
"""


class SqlUserDirectory:
    """:class:`commerce.platform.transactions.ports.UserDirectory` on ``user_directory``."""

    def __init__(self, connection: AsyncConnection, raw: Any, tenant_id: TenantId) -> None:
        self._connection = connection
        self._raw = raw
        self._tenant_id = tenant_id

    async def record(self, entry: DirectoryEntry) -> bool:
        """Insert, or update a row holding an older version; whether a row changed."""
        status: str = await self._raw.execute(
            _RECORD,
            self._tenant_id.value,
            entry.user_id.value,
            entry.email,
            entry.display_name,
            entry.version,
            entry.registered_at,
            entry.status,
            list(entry.roles),
        )
        return not status.endswith(" 0")

    async def change(self, change: DirectoryChange) -> bool:
        """Update the user's row if it holds an older version; whether a row changed."""
        values: dict[str, Any] = {"version": change.version, "updated_at": func.now()}
        if change.display_name is not None:
            values["display_name"] = change.display_name
        if change.status is not None:
            values["status"] = change.status
        if change.added_role is not None:
            role = change.added_role.value
            roles = user_directory.c.roles
            values["roles"] = case(
                (literal(role) == any_(roles), roles), else_=func.array_append(roles, role)
            )
        statement = (
            user_directory.update()
            .where(
                user_directory.c.tenant_id == self._tenant_id.value,
                user_directory.c.user_id == change.user_id.value,
                user_directory.c.version < change.version,
            )
            .values(values)
        )
        result = await self._connection.execute(statement)
        return bool(getattr(result, "rowcount", 0))
