"""Batched projection: for any interleaving of aggregates, any redelivery of events already
seen and any cut of the deliveries into batches, the read model equals applying every
event once, in order (the inbox claim of each batch plus the version guard)."""

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import cast
from uuid import UUID, uuid4

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection

from commerce.platform.kit.ids import TenantId
from commerce.platform.read_side.ports import ReadModelTags
from commerce.platform.read_side.projection_batch import Delivered, first_claimed
from commerce.platform.read_side.projection_kit import Change, Update, apply_updates

pytestmark = [pytest.mark.unit, pytest.mark.property]

TENANTS = (TenantId(uuid4()), TenantId(uuid4()))
KEYS = tuple(uuid4() for _ in range(3))


@dataclass(frozen=True, slots=True)
class History:
    """A row remembering every event folded into it, in order."""

    applied: tuple[int, ...]
    version: int


class InMemoryProjection:
    """Rows in a dict; ``load`` and ``save`` ignore the connection."""

    name = "history"
    tables: tuple[Table, ...] = ()
    tags = ReadModelTags("history")

    def __init__(self) -> None:
        self.rows: dict[tuple[TenantId, UUID], History] = {}

    async def load(
        self,
        connection: AsyncConnection,
        tables: Sequence[Table],
        tenant: TenantId,
        keys: list[UUID],
    ) -> dict[UUID, History]:
        return {k: self.rows[tenant, k] for k in keys if (tenant, k) in self.rows}

    async def save(
        self, connection: AsyncConnection, tables: Sequence[Table], changes: list[Change[History]]
    ) -> None:
        for change in changes:
            self.rows[change.tenant, change.key] = change.after

    def invalidated(self, change: Change[History]) -> list[str]:
        return [self.tags.row(change.tenant, change.key)]


@dataclass(frozen=True, slots=True)
class Event:
    message_id: UUID
    tenant: TenantId
    key: UUID
    version: int


def _fold(version: int, state: History | None) -> History:
    return History((*(state.applied if state else ()), version), version)


def _delivered(event: Event) -> Delivered[History]:
    def apply(state: History | None) -> History:
        return _fold(event.version, state)

    return Delivered(event.message_id, Update(event.tenant, event.key, event.version, apply))


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[Event], list[Event], list[int]]:
    """Events in order per aggregate, interleaved; then redeliveries of events already
    delivered, anywhere later; then cut points into batches."""
    counts = {(t, k): draw(st.integers(0, 5), label="events") for t in TENANTS for k in KEYS[:2]}
    streams = {
        aggregate: [Event(uuid4(), aggregate[0], aggregate[1], v) for v in range(1, n + 1)]
        for aggregate, n in counts.items()
    }
    order = draw(st.permutations([a for a, n in counts.items() for _ in range(n)]))
    cursors = dict.fromkeys(streams, 0)
    in_order: list[Event] = []
    for aggregate in order:
        in_order.append(streams[aggregate][cursors[aggregate]])
        cursors[aggregate] += 1
    delivered = list(in_order)
    for _ in range(draw(st.integers(0, 8))):
        if not delivered:
            break
        position = draw(st.integers(0, len(delivered) - 1))
        later = draw(st.integers(position + 1, len(delivered)))
        delivered.insert(later, delivered[position])
    cuts = sorted(draw(st.sets(st.integers(1, max(len(delivered) - 1, 1)))))
    return in_order, delivered, cuts


async def _run(batches: list[list[Event]]) -> dict[tuple[TenantId, UUID], History]:
    projection = InMemoryProjection()
    inbox: set[UUID] = set()
    connection = cast("AsyncConnection", None)
    for batch in batches:
        claimed = {e.message_id for e in batch} - inbox
        inbox |= claimed
        updates = first_claimed([_delivered(e) for e in batch], claimed)
        await apply_updates(projection, connection, updates)
    return projection.rows


@given(deliveries())
def test_batched_redelivered_events_give_the_read_model_of_each_event_once_in_order(
    case: tuple[list[Event], list[Event], list[int]],
) -> None:
    in_order, delivered, cuts = case
    bounds = [0, *(c for c in cuts if c < len(delivered)), len(delivered)]
    batches = [delivered[a:b] for a, b in pairwise(bounds)]

    batched = asyncio.run(_run(batches))
    once = asyncio.run(_run([[e] for e in in_order]))

    assert batched == once
    for (tenant, key), row in batched.items():
        expected = tuple(e.version for e in in_order if (e.tenant, e.key) == (tenant, key))
        assert row.applied == expected


@given(st.lists(st.sampled_from(range(4)), max_size=12), st.sets(st.sampled_from(range(4))))
def test_first_claimed_keeps_each_claimed_message_once_in_delivery_order(
    picks: list[int], claimed_picks: set[int]
) -> None:
    ids = [uuid4() for _ in range(4)]
    batch = [_delivered(Event(ids[p], TENANTS[0], KEYS[0], p + 1)) for p in picks]
    claimed = {ids[p] for p in claimed_picks}

    updates = first_claimed(batch, claimed)

    expected = [p + 1 for p in dict.fromkeys(picks) if p in claimed_picks]
    assert [u.version for u in updates] == expected
