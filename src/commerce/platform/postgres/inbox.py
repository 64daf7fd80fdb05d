"""The inbox: one row per (consumer, message id), written in the handler's transaction."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.postgres.tables import inbox

__all__ = ["claim_message", "purge_inbox"]

# Built once: SQLAlchemy then reuses its cache key and compiled form for every message.
_CLAIM = (
    insert(inbox)
    .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.message_id])
    .returning(inbox.c.message_id)
)


async def claim_message(
    connection: AsyncConnection, *, consumer: str, message_id: UUID, tenant_id: UUID
) -> bool:
    """Insert the inbox row; ``False`` when ``consumer`` already processed the message.

    A concurrent duplicate blocks on the primary key until the first transaction ends,
    then sees the conflict: at most one of them applies the message.
    """
    values = {"consumer": consumer, "message_id": message_id, "tenant_id": tenant_id}
    return (await connection.execute(_CLAIM, values)).first() is not None


async def purge_inbox(connection: AsyncConnection, *, older_than: datetime) -> int:
    """Delete inbox rows received before ``older_than``; returns how many."""
    result = await connection.execute(delete(inbox).where(inbox.c.received_at < older_than))
    return result.rowcount
