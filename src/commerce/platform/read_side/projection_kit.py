"""What every projection shares: rows keyed by aggregate, each holding the aggregate
``version`` it reflects, folded from events by a pure function.

A projection is a :class:`RowProjection`: how to load and save its rows (on the live
tables or on fresh copies being rebuilt) and which cache tags a changed row touches. The
same :func:`apply_updates` runs for one live event in the consumer's transaction and for a
batch of thousands during a rebuild, so both produce identical rows:

* an update whose version is not above the row's is skipped (redelivery, a replay, an
  event the rebuild already applied): idempotent;
* rows of different aggregates are independent, so events of different aggregates may
  arrive in any order; one aggregate's events arrive in order (ADR 0012).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from sqlalchemy import MetaData, Row, Table, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.kit.ids import TenantId
from commerce.platform.read_side.ports import ReadModelTags

__all__ = [
    "Change",
    "RowProjection",
    "Update",
    "Versioned",
    "apply_updates",
    "locked_rows",
    "rebuild_copy",
    "upsert_newer",
]


class Versioned(Protocol):
    """A read-model row's state: it knows the aggregate version it reflects."""

    @property
    def version(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Update[S: Versioned]:
    """One change to one row: ``apply`` turns the current state (or ``None``) into the
    state as of ``version``; returning ``None`` or the same state changes nothing."""

    tenant: TenantId
    key: UUID
    version: int
    apply: Callable[[S | None], S | None]


@dataclass(frozen=True, slots=True)
class Change[S: Versioned]:
    """A row that changed: its state before (``None``: new row) and after."""

    tenant: TenantId
    key: UUID
    before: S | None
    after: S


class RowProjection[S: Versioned](Protocol):
    """A read model kept from events, one row (state) per aggregate key."""

    name: str
    """The projection's name (``commerce projections rebuild <name>``)."""
    tables: tuple[Table, ...]
    """The live tables it owns; a rebuild fills copies and swaps them all at once."""
    tags: ReadModelTags

    async def load(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        tenant: TenantId,
        keys: list[UUID],
    ) -> dict[UUID, S]:
        """The current rows of ``keys`` (locked until the transaction ends)."""
        ...

    async def save(
        self, connection: AsyncConnection, tables: Sequence[Table], changes: list[Change[S]]
    ) -> None:
        """Write the changed rows (all of one tenant)."""
        ...

    def invalidated(self, change: Change[S]) -> list[str]:
        """The cache tags of answers built from the changed row."""
        ...


async def apply_updates[S: Versioned](
    projection: RowProjection[S],
    connection: AsyncConnection,
    updates: Iterable[Update[S]],
    *,
    tables: Sequence[Table] | None = None,
) -> list[Change[S]]:
    """Fold ``updates`` (in order) into the rows and save the changed ones; the changes.

    ``tables`` are the live tables unless a rebuild passes its copies.
    """
    target = tuple(tables) if tables is not None else projection.tables
    by_tenant: dict[TenantId, list[Update[S]]] = {}
    for update in updates:
        by_tenant.setdefault(update.tenant, []).append(update)
    changes: list[Change[S]] = []
    for tenant, batch in by_tenant.items():
        keys = list(dict.fromkeys(update.key for update in batch))
        before = await projection.load(connection, target, tenant, keys)
        working: dict[UUID, S] = dict(before)
        for update in batch:
            current = working.get(update.key)
            if current is not None and current.version >= update.version:
                continue
            after = update.apply(current)
            if after is not None and after != current:
                working[update.key] = after
        changed = [
            Change(tenant, key, before.get(key), working[key])
            for key in keys
            if key in working and working[key] is not before.get(key)
        ]
        if changed:
            await projection.save(connection, target, changed)
            changes.extend(changed)
    return changes


def rebuild_copy(table: Table) -> Table:
    """A ``Table`` object for ``<table>_rebuild``, the copy a rebuild fills (same columns)."""
    return table.to_metadata(MetaData(), name=f"{table.name}_rebuild")


async def locked_rows(
    connection: AsyncConnection, table: Table, key: str, tenant: TenantId, keys: list[UUID]
) -> list[Row[Any]]:
    """The tenant's rows of ``table`` whose ``key`` column is in ``keys``, locked for update."""
    query = (
        select(table)
        .where(table.c.tenant_id == tenant.value, table.c[key].in_(keys))
        .with_for_update()
    )
    return list(await connection.execute(query))


async def upsert_newer(
    connection: AsyncConnection,
    table: Table,
    key: str,
    rows: list[dict[str, Any]],
    updated: Sequence[str],
) -> None:
    """Insert ``rows``, or overwrite the ``updated`` columns of a row keyed by
    (tenant, ``key``) whose version is older than the incoming one."""
    statement = insert(table)
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=[table.c.tenant_id, table.c[key]],
            set_={name: statement.excluded[name] for name in updated},
            where=table.c.version < statement.excluded.version,
        ),
        rows,
    )
