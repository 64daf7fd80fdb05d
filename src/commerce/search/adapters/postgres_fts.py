"""The item index on Postgres full-text search: the default when no Elasticsearch is set.

Rows live in ``search_items`` (a tenant table under row-level security); every statement
runs in a transaction scoped to the tenant *and* filters on it, so a tenant can never see
another's rows even if one of the two guards were lost (docs/adr/0028-search.md).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, and_, func, select, true
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import search_items as t
from commerce.search.adapters.cursors import decode_cursor, encode_cursor
from commerce.search.domain.documents import Indexed, ItemDocument, ItemTombstone
from commerce.search.domain.queries import ItemHit, ItemSearch, ItemSearchPage, SortOrder

__all__ = ["PostgresItemIndex"]

_CONFIG = "simple"
_HEADLINE = "StartSel=<em>, StopSel=</em>, HighlightAll=true"
_WORD = re.compile(r"\w+")
_FIELDS = ("name", "status", "stock", "price", "currency", "updated_at")
_FACETS = ("status", "currency")


def _row(tenant: UUID, entry: Indexed) -> dict[str, Any]:
    row: dict[str, Any] = {
        "tenant_id": tenant,
        "item_id": entry.item_id,
        "version": entry.version,
        "deleted": isinstance(entry, ItemTombstone),
    }
    for name in _FIELDS:
        row[name] = getattr(entry, name, None)
    return row


def _entry(row: Any) -> Indexed:
    if row.deleted:
        return ItemTombstone(item_id=row.item_id, version=row.version)
    return ItemDocument(
        item_id=row.item_id,
        name=row.name,
        status=row.status,
        stock=row.stock,
        price=row.price,
        currency=row.currency,
        updated_at=row.updated_at,
        version=row.version,
    )


class PostgresItemIndex:
    """:class:`~commerce.search.application.ports.ItemIndex` on ``search_items``."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def get(self, tenant: UUID, item_id: UUID) -> Indexed | None:
        """What the index holds for the item, or ``None``."""
        query = select(t).where(t.c.tenant_id == tenant, t.c.item_id == item_id)
        async with tenant_transaction(self._engine, tenant) as conn:
            row = (await conn.execute(query)).one_or_none()
        return None if row is None else _entry(row)

    async def put(self, tenant: UUID, entries: Sequence[Indexed]) -> int:
        """Write ``entries``; a version not above the one held is skipped (already applied)."""
        newest: dict[UUID, Indexed] = {}
        for entry in entries:
            held = newest.get(entry.item_id)
            if held is None or held.version < entry.version:
                newest[entry.item_id] = entry
        if not newest:
            return 0
        statement = insert(t).values([_row(tenant, e) for e in newest.values()])
        updated = ("version", "deleted", *_FIELDS)
        upsert = statement.on_conflict_do_update(
            index_elements=[t.c.tenant_id, t.c.item_id],
            set_={name: statement.excluded[name] for name in updated},
            where=t.c.version < statement.excluded.version,
        ).returning(t.c.item_id)
        async with tenant_transaction(self._engine, tenant) as conn:
            return len((await conn.execute(upsert)).all())

    async def search(self, tenant: UUID, query: ItemSearch) -> ItemSearchPage:
        """The tenant's live items matching ``query``, with facets and highlights."""
        offset = decode_cursor(query.cursor)
        tsquery = func.websearch_to_tsquery(_CONFIG, query.text)
        matches = [t.c.tenant_id == tenant, t.c.deleted.is_(False)]
        if query.text.strip():
            matches.append(t.c.document.op("@@")(tsquery))
        if query.status is not None:
            matches.append(t.c.status == query.status)
        if query.currency is not None:
            matches.append(t.c.currency == query.currency)
        where = and_(true(), *matches)
        highlight = (
            func.ts_headline(_CONFIG, t.c.name, tsquery, _HEADLINE)
            if query.text.strip()
            else t.c.name
        )
        rows_query = (
            select(t, highlight.label("highlight"))
            .where(where)
            .order_by(*_order(query, tsquery))
            .offset(offset)
            .limit(query.limit + 1)
        )
        async with tenant_transaction(self._engine, tenant) as conn:
            rows = (await conn.execute(rows_query)).all()
            total = (await conn.execute(select(func.count()).where(where))).scalar_one()
            facets = {name: await _facet(conn, name, where) for name in _FACETS}
        hits = [ItemHit(document=_document(row), highlight=row.highlight) for row in rows]
        more = len(hits) > query.limit
        return ItemSearchPage(
            hits=hits[: query.limit],
            total=total,
            facets=facets,
            next_cursor=encode_cursor(offset + query.limit) if more else None,
        )

    async def suggest(self, tenant: UUID, prefix: str, *, limit: int = 10) -> list[str]:
        """Names of live items with a word starting with the last word of ``prefix``."""
        words = _WORD.findall(prefix.lower())
        if not words:
            return []
        tsquery = func.to_tsquery(_CONFIG, f"{words[-1]}:*")
        query = (
            select(t.c.name)
            .where(t.c.tenant_id == tenant, t.c.deleted.is_(False))
            .where(t.c.document.op("@@")(tsquery))
            .group_by(t.c.name)
            .order_by(t.c.name)
            .limit(limit)
        )
        async with tenant_transaction(self._engine, tenant) as conn:
            return list((await conn.execute(query)).scalars())


def _document(row: Any) -> ItemDocument:
    entry = _entry(row)
    assert isinstance(entry, ItemDocument)  # searches exclude tombstones
    return entry


def _order(query: ItemSearch, tsquery: ColumnElement[Any]) -> list[ColumnElement[Any]]:
    match query.sort:
        case SortOrder.PRICE_ASC:
            first = t.c.price.asc()
        case SortOrder.PRICE_DESC:
            first = t.c.price.desc()
        case SortOrder.NAME:
            first = t.c.name.asc()
        case SortOrder.RELEVANCE:
            first = func.ts_rank(t.c.document, tsquery).desc()
    return [first, t.c.item_id.asc()]


async def _facet(conn: Any, name: str, where: ColumnElement[bool]) -> dict[str, int]:
    column = t.c[name]
    query: Select[Any] = select(column, func.count()).where(where).group_by(column)
    return {str(value): int(count) for value, count in (await conn.execute(query)).all()}
