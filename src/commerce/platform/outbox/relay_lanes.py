"""Which outbox lanes a relay replica publishes: a fair share, held with advisory locks.

Every outbox row belongs to one of :data:`LANES` lanes by the hash of its aggregate, so all
rows of an aggregate share a lane. Each relay replica holds a session on Postgres and, on
it, one advisory lock per lane it publishes: exactly one replica publishes a lane at a
time, in ``position`` order, which keeps every aggregate's events in order across
replicas. Replicas see each other through a membership lock each holds; every replica takes
the lanes whose number modulo the number of replicas equals its rank, so lanes spread
evenly and move when a replica comes or goes (a dead replica's session ends and its locks
with it). A lane changes hands only between two passes of its holder. See
``docs/adr/0009-outbox-relay-algorithm.md``.
"""

from __future__ import annotations

import random
import time

import asyncpg
import structlog

__all__ = ["LANES", "LaneLease", "lane_of"]

LANES = 64
"""Lanes of the outbox (a power of two: ``lane = hashtext(aggregate) & (LANES - 1)``)."""

LANE_SQL = "(hashtext(aggregate_type || ':' || aggregate_id) & 63)"
"""The lane of an outbox row, as SQL (kept in step with :data:`LANES`)."""

_LANE_SPACE = 0x0B0D  # advisory-lock namespaces (first key) of lanes and of members
_MEMBER_SPACE = 0x0B0E
_MEMBERS = """
    SELECT objid::bigint AS member FROM pg_locks
    WHERE locktype = 'advisory' AND classid::bigint = $1 AND objsubid = 2 AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
    ORDER BY 1
"""
_ACQUIRE = (
    "SELECT coalesce(array_agg(lane), '{}') FROM unnest($2::int[]) AS lane"
    " WHERE pg_try_advisory_lock($1, lane)"
)
_RELEASE = "SELECT count(*) FROM unnest($2::int[]) AS lane WHERE pg_advisory_unlock($1, lane)"
_log = structlog.get_logger("commerce.relay")


def lane_of(rank: int, members: int) -> frozenset[int]:
    """The lanes of the replica at ``rank`` among ``members`` replicas."""
    return frozenset(lane for lane in range(LANES) if lane % members == rank)


class LaneLease:
    """The lanes this replica holds, kept fair by :meth:`refresh` (call it between passes)."""

    def __init__(self, dsn: str, *, refresh_interval: float = 1.0) -> None:
        self._dsn = dsn.replace("postgresql+asyncpg://", "postgresql://")
        self._refresh_interval = refresh_interval
        self._connection: asyncpg.Connection | None = None
        self._member: int | None = None
        self._held: frozenset[int] = frozenset()
        self._next_refresh = 0.0

    @property
    def held(self) -> frozenset[int]:
        """The lanes held now (empty while the session to Postgres is down)."""
        if self._connection is None or self._connection.is_closed():
            return frozenset()
        return self._held

    async def lanes(self) -> frozenset[int]:
        """The lanes to publish in the next pass, rebalancing when it is due."""
        if time.monotonic() >= self._next_refresh or not self.held:
            await self.refresh()
        return self.held

    async def refresh(self) -> frozenset[int]:
        """Join (or rejoin) the replicas, release lanes that are no longer ours, take ours."""
        self._next_refresh = time.monotonic() + self._refresh_interval
        try:
            connection = await self._session()
            members = [row["member"] for row in await connection.fetch(_MEMBERS, _MEMBER_SPACE)]
            if self._member not in members:  # not visible yet: count ourselves in
                members = sorted({*members, self._member})
            wanted = lane_of(members.index(self._member), len(members))
            if surplus := self._held - wanted:
                await connection.fetchval(_RELEASE, _LANE_SPACE, sorted(surplus))
            taken = await connection.fetchval(_ACQUIRE, _LANE_SPACE, sorted(wanted - self._held))
            self._held = (self._held & wanted) | frozenset(taken)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            _log.warning("relay lanes unavailable; retrying", error=str(error))
            await self.close()
        return self.held

    async def _session(self) -> asyncpg.Connection:
        if self._connection is not None and not self._connection.is_closed():
            return self._connection
        self._held = frozenset()
        connection = await asyncpg.connect(self._dsn)
        try:
            while True:  # a member key no other replica uses
                member = random.randrange(1, 2**31)  # noqa: S311 - an id, not a secret
                if await connection.fetchval(
                    "SELECT pg_try_advisory_lock($1, $2)", _MEMBER_SPACE, member
                ):
                    break
        except BaseException:
            await connection.close()
            raise
        self._connection, self._member = connection, member
        return connection

    async def close(self) -> None:
        """End the session: every lane and the membership are released at once."""
        connection, self._connection, self._held = self._connection, None, frozenset()
        if connection is not None and not connection.is_closed():
            try:
                await connection.close(timeout=2)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
                connection.terminate()
