"""The relay's statements on the outbox, on one asyncpg connection of its own.

The relay reads and marks rows on asyncpg directly, not through SQLAlchemy: per row the
statement machinery cost more than the publish (docs/adr/0026). Reading runs outside any
transaction (autocommit), so it holds no snapshot that would hold back the visibility
horizon of other replicas. A failed statement closes the connection; the next one opens a
fresh connection.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import asyncpg
import orjson

from commerce.platform.outbox.relay_lanes import LANE_SQL, LANES

__all__ = ["OutboxStore"]

# ``body``: the bytes the writer encoded; rows written before v0011 have none, for them
# Postgres renders ``payload`` as JSON text (the same document, other whitespace).
_UNSENT = """
    SELECT position, message_id::text AS message_id, aggregate_id, stream, headers,
           coalesce(body, convert_to(payload::text, 'UTF8')) AS body,
           txid < pg_snapshot_xmin(pg_current_snapshot()) AS settled
    FROM outbox
    WHERE sent_at IS NULL AND failed_at IS NULL {lanes}
    ORDER BY position
    LIMIT $1
"""
_CLAIM_ALL = _UNSENT.format(lanes="")
_CLAIM_LANES = _UNSENT.format(lanes=f"AND {LANE_SQL} = ANY($2::int[])")
_MARK_SENT = "UPDATE outbox SET sent_at = now() WHERE position = ANY($1::bigint[])"
_MARK_FAILED = "UPDATE outbox SET failed_at = now(), last_error = $2 WHERE position = $1"
_BACKLOG = (
    "SELECT count(*) AS messages,"
    " coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest_age"
    " FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
)


class OutboxStore:
    """Reads unsent rows and marks them sent or parked, on one lazily opened connection."""

    def __init__(self, dsn: str, *, statement_timeout: float = 30.0) -> None:
        self._dsn = dsn.replace("postgresql+asyncpg://", "postgresql://")
        self._timeout = statement_timeout
        self._connection: asyncpg.Connection | None = None

    async def unsent(self, limit: int, lanes: Collection[int]) -> list[asyncpg.Record]:
        """Up to ``limit`` unsent rows of ``lanes`` in ``position`` order (all lanes: no filter)."""
        connection = await self._session()
        try:
            rows: list[asyncpg.Record] = (
                await connection.fetch(_CLAIM_ALL, limit)
                if len(lanes) == LANES
                else await connection.fetch(_CLAIM_LANES, limit, sorted(lanes))
            )
        except BaseException:
            self._drop()
            raise
        return rows

    async def mark(self, sent: Sequence[int], parked: Sequence[tuple[int, str]]) -> None:
        """Mark ``sent`` rows sent and ``parked`` ones failed (with why), in one transaction."""
        if not sent and not parked:
            return
        connection = await self._session()
        try:
            if not parked:  # one statement: atomic on its own
                await connection.execute(_MARK_SENT, list(sent))
                return
            async with connection.transaction():
                await connection.executemany(_MARK_FAILED, list(parked))
                if sent:
                    await connection.execute(_MARK_SENT, list(sent))
        except BaseException:
            self._drop()
            raise

    async def backlog(self) -> tuple[int, float]:
        """How many rows wait, and the age in seconds of the oldest."""
        connection = await self._session()
        try:
            row = await connection.fetchrow(_BACKLOG)
        except BaseException:
            self._drop()
            raise
        assert row is not None
        return int(row["messages"]), float(row["oldest_age"])

    async def close(self) -> None:
        """Close the connection (the next statement opens a new one)."""
        self._drop()

    async def _session(self) -> asyncpg.Connection:
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        connection = await asyncpg.connect(
            self._dsn, command_timeout=self._timeout, statement_cache_size=16
        )
        await connection.set_type_codec(
            "jsonb", schema="pg_catalog", encoder=_encode, decoder=orjson.loads
        )
        self._connection = connection
        return connection

    def _drop(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and not connection.is_closed():
            connection.terminate()


def _encode(value: object) -> str:
    return orjson.dumps(value).decode()
