"""Read models kept by projections, over SQLAlchemy Core (row-level security applies)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import any_, case, func, literal
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.adapters.orm import user_directory
from commerce.application.read_models import DirectoryChange, DirectoryEntry
from commerce.domain.values import TenantId

__all__ = ["SqlUserDirectory"]


def _record_statement() -> Insert:
    """The directory upsert, built once (``excluded`` builds a table alias on each use)."""
    statement = insert(user_directory)
    return statement.on_conflict_do_update(
        index_elements=[user_directory.c.tenant_id, user_directory.c.user_id],
        set_={
            "email": statement.excluded.email,
            "display_name": statement.excluded.display_name,
            "version": statement.excluded.version,
            "status": statement.excluded.status,
            "roles": statement.excluded.roles,
            "updated_at": func.now(),
        },
        where=user_directory.c.version < statement.excluded.version,
    )


_RECORD = _record_statement()


class SqlUserDirectory:
    """:class:`commerce.application.ports.UserDirectory` on ``user_directory``."""

    def __init__(self, connection: AsyncConnection, tenant_id: TenantId) -> None:
        self._connection = connection
        self._tenant_id = tenant_id

    async def record(self, entry: DirectoryEntry) -> bool:
        """Insert, or update a row holding an older version; whether a row changed."""
        values = {
            "tenant_id": self._tenant_id.value,
            "user_id": entry.user_id.value,
            "email": entry.email,
            "display_name": entry.display_name,
            "version": entry.version,
            "registered_at": entry.registered_at,
            "status": entry.status,
            "roles": list(entry.roles),
        }
        result = await self._connection.execute(_RECORD, values)
        return bool(getattr(result, "rowcount", 0))

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
