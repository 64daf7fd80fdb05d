"""Where a rebuild reads from: the event store, or the current rows of state-stored
aggregates. Both read every tenant, which only the owner role can, and only inside a
transaction that sets ``app.maintenance`` to ``rebuild`` (revision 0008).

A *pass* yields batches of updates. An event-store pass reads the events of its stream
type that the previous pass's snapshot did not see (``pg_visible_in_snapshot`` on each
row's ``txid``; the first pass reads everything its own snapshot sees), in position order,
so no event is skipped whatever order transactions commit in. A state pass reads the
source rows whose version is above the copy's row (every row the first time).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from functools import partial
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import Row, Select, Table, Text, and_, bindparam, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.types import UserDefinedType

from commerce.platform.eventsourcing.streams import RecordedEvent, UpcasterRegistry
from commerce.platform.kit.events import DomainEvent
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.postgres.event_store_sql import recorded_event
from commerce.platform.postgres.tables import events as event_rows
from commerce.platform.read_side.projection_kit import Update, Versioned

__all__ = ["EventStoreSource", "Fold", "RebuildSource", "StateSource"]

type Fold[S] = Callable[..., S | None]
"""``fold(state, event, *, version=..., at=...)``: the row after one integration event."""


class RebuildSource[S: Versioned](Protocol):
    """What a rebuild reads, pass after pass, for one projection."""

    async def count(self, connection: AsyncConnection, copies: tuple[Table, ...]) -> int:
        """How many updates the first pass will yield (for the progress bar)."""
        ...

    def read(
        self,
        connection: AsyncConnection,
        copies: tuple[Table, ...],
        *,
        seen: str | None,
        batch_size: int,
        buffered: bool = False,
    ) -> AsyncIterator[list[Update[S]]]:
        """Updates not applied yet: ``seen`` is the previous pass's snapshot, if any.

        Streamed through a server-side cursor unless ``buffered`` (a cursor stays open
        until the transaction ends, which a swap in the same transaction cannot have).
        """
        ...


class EventStoreSource[S: Versioned]:
    """Events of one stream type, upcast (with the ``upcasters`` given), decoded, mapped to
    integration events, then folded."""

    def __init__(
        self,
        *,
        stream_type: str,
        decode: Callable[[RecordedEvent], DomainEvent],
        publish: Callable[[DomainEvent], IntegrationEvent | None],
        key: Callable[[IntegrationEvent], UUID],
        fold: Fold[S],
        upcasters: UpcasterRegistry | None = None,
    ) -> None:
        self._stream_type = stream_type
        self._decode = decode
        self._publish = publish
        self._key = key
        self._fold = fold
        self._upcasters = upcasters or UpcasterRegistry()

    def _query(self, seen: str | None) -> Select[Any]:
        query = select(event_rows).where(event_rows.c.stream_type == self._stream_type)
        if seen is not None:
            snapshot = cast(bindparam("seen", seen, type_=Text), _PgSnapshot())
            visible = func.pg_visible_in_snapshot(event_rows.c.txid, snapshot)
            query = query.where(visible.is_(False))
        return query.order_by(event_rows.c.position)

    async def count(self, connection: AsyncConnection, copies: tuple[Table, ...]) -> int:
        query = select(func.count()).where(event_rows.c.stream_type == self._stream_type)
        return int(await connection.scalar(query) or 0)

    async def read(
        self,
        connection: AsyncConnection,
        copies: tuple[Table, ...],
        *,
        seen: str | None,
        batch_size: int,
        buffered: bool = False,
    ) -> AsyncIterator[list[Update[S]]]:
        async for rows in _rows(connection, self._query(seen), batch_size, buffered=buffered):
            yield [update for row in rows if (update := self._update(row)) is not None]

    def _update(self, row: Row[Any]) -> Update[S] | None:
        recorded = recorded_event(row, self._upcasters)
        domain = self._decode(recorded)
        published = self._publish(domain)
        if published is None:
            return None
        apply = partial(_fold_one, self._fold, published, row.version, domain.occurred_at)
        return Update(recorded.tenant_id, self._key(published), row.version, apply)


def _fold_one[S](
    fold: Fold[S], event: IntegrationEvent, version: int, at: datetime, state: S | None
) -> S | None:
    return fold(state, event, version=version, at=at)


class StateSource[S: Versioned]:
    """Current rows of a state table; a row is one aggregate's state as of its version."""

    def __init__(
        self,
        *,
        source: Table,
        source_key: str,
        copy_key: str,
        state_of: Callable[[Row[Any]], S],
        key_of: Callable[[S], UUID],
    ) -> None:
        self._source = source
        self._source_key = source_key
        self._copy_key = copy_key
        self._state_of = state_of
        self._key_of = key_of

    def _query(self, copy: Table) -> Select[Any]:
        source = self._source
        joined = source.outerjoin(
            copy,
            and_(
                copy.c.tenant_id == source.c.tenant_id,
                copy.c[self._copy_key] == source.c[self._source_key],
            ),
        )
        newer = or_(copy.c.version.is_(None), copy.c.version < source.c.version)
        return select(source).select_from(joined).where(newer).order_by(source.c.tenant_id)

    async def count(self, connection: AsyncConnection, copies: tuple[Table, ...]) -> int:
        return int(await connection.scalar(select(func.count()).select_from(self._source)) or 0)

    async def read(
        self,
        connection: AsyncConnection,
        copies: tuple[Table, ...],
        *,
        seen: str | None,
        batch_size: int,
        buffered: bool = False,
    ) -> AsyncIterator[list[Update[S]]]:
        query = self._query(copies[0])
        async for rows in _rows(connection, query, batch_size, buffered=buffered):
            yield [self._update(row) for row in rows]

    def _update(self, row: Row[Any]) -> Update[S]:
        state = self._state_of(row)
        return Update(TenantId(row.tenant_id), self._key_of(state), state.version, _const(state))


def _const[S](state: S) -> Callable[[S | None], S | None]:
    return lambda _current: state


async def _rows(
    connection: AsyncConnection, query: Select[Any], batch_size: int, *, buffered: bool
) -> AsyncIterator[Sequence[Row[Any]]]:
    if buffered:
        rows = (await connection.execute(query)).all()
        for start in range(0, len(rows), batch_size):
            yield rows[start : start + batch_size]
        return
    result = await connection.stream(query.execution_options(yield_per=batch_size))
    async for partition in result.partitions(batch_size):
        yield partition


class _PgSnapshot(UserDefinedType[str]):
    """Postgres ``pg_snapshot`` (what ``pg_current_snapshot()`` returns), as text."""

    cache_ok = True

    def get_col_spec(self, **kw: Any) -> str:
        return "pg_snapshot"
