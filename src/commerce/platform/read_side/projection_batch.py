"""Projections applied a batch at a time, on the projections' own pool (docs/adr/0025).

A batch is the events one consumer took from its partition queue (or Kafka partition), in
delivery order. Per tenant it runs in ONE transaction of its own (never inside the
commands' shared transactions):

1. one set-based inbox claim for every message id of the batch (the exactly-once gate:
   ``INSERT ... ON CONFLICT DO NOTHING RETURNING``); ids already claimed by an earlier
   batch, and repeats within the batch, are dropped;
2. the remaining updates folded in delivery order by :func:`apply_updates` (one locked
   read of the batch's rows, one set-based upsert of the changed ones, version guarded);
3. one commit, then ONE cache invalidation for the whole batch (deduplicated tags).

The inbox rows' ``received_at`` is the commit-side timestamp of each event, so the lag of
an event is ``inbox.received_at`` minus the event's own time (the bench reads both).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.platform.kit.ids import TenantId
from commerce.platform.postgres.engine import tenant_transaction
from commerce.platform.postgres.tables import inbox
from commerce.platform.read_side.ports import QueryCache
from commerce.platform.read_side.projection_kit import (
    Change,
    RowProjection,
    Update,
    Versioned,
    apply_updates,
)

__all__ = ["BatchOutcome", "BatchProjector", "Delivered", "claim_batch", "first_claimed"]


@dataclass(frozen=True, slots=True)
class Delivered[S: Versioned]:
    """One delivered event of a batch: its message id and the update it makes."""

    message_id: UUID
    update: Update[S]


def first_claimed[S: Versioned](
    batch: Iterable[Delivered[S]], claimed: set[UUID]
) -> list[Update[S]]:
    """The updates of the messages ``claimed`` in this batch, each once, in delivery order.

    A repeat of a message within the batch (a redelivery delivered next to its original)
    counts once; a message not claimed (an earlier batch applied it) counts not at all.
    """
    seen: set[UUID] = set()
    updates: list[Update[S]] = []
    for delivered in batch:
        if delivered.message_id in claimed and delivered.message_id not in seen:
            seen.add(delivered.message_id)
            updates.append(delivered.update)
    return updates


async def claim_batch(
    connection: AsyncConnection, *, consumer: str, tenant: TenantId, message_ids: Sequence[UUID]
) -> set[UUID]:
    """Insert the inbox rows of ``message_ids`` in one statement; the ids newly claimed.

    A concurrent claim of the same id blocks on the primary key until the other
    transaction ends, then conflicts: at most one batch applies each message.
    """
    unique = list(dict.fromkeys(message_ids))
    if not unique:
        return set()
    rows = [{"consumer": consumer, "message_id": m, "tenant_id": tenant.value} for m in unique]
    statement = (
        insert(inbox)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[inbox.c.consumer, inbox.c.message_id])
        .returning(inbox.c.message_id)
    )
    return set((await connection.execute(statement)).scalars())


@dataclass(frozen=True, slots=True)
class BatchOutcome[S: Versioned]:
    """What :meth:`BatchProjector.apply_isolating` did: the rows changed; each event that
    failed alone (for the consumer's failure policy: retry, then DLQ and a hold on its
    aggregate); and the later events of a failed event's aggregate, not applied (for the
    sequence gate to park behind that hold, so the aggregate's order is kept)."""

    changes: list[Change[S]] = field(default_factory=list)
    failed: list[tuple[Delivered[S], Exception]] = field(default_factory=list)
    held: list[Delivered[S]] = field(default_factory=list)


class BatchProjector:
    """Applies batches of one projection's events on the projections' pool."""

    def __init__(self, engine: AsyncEngine, cache: QueryCache) -> None:
        self._engine = engine
        self._cache = cache

    async def apply(
        self, projection: RowProjection[Any], consumer: str, batch: Sequence[Delivered[Any]]
    ) -> list[Change[Any]]:
        """Apply ``batch`` exactly once (see the module); the rows it changed.

        One transaction per tenant of the batch (row-level security is per transaction);
        an error rolls back that tenant's transaction and propagates (tenants committed
        before it stay committed, their inbox rows make a retry of the batch skip them), so
        the caller's failure policy sees the batch and can split it to find the poison event.
        """
        changes: list[Change[Any]] = []
        await self._apply_into(changes, projection, consumer, batch)
        return changes

    async def _apply_into(
        self,
        changes: list[Change[Any]],
        projection: RowProjection[Any],
        consumer: str,
        batch: Sequence[Delivered[Any]],
    ) -> None:
        """:meth:`apply`, adding each tenant's changes to ``changes`` once committed (so a
        caller sees them even when a later tenant's transaction fails)."""
        by_tenant: dict[TenantId, list[Delivered[Any]]] = {}
        for delivered in batch:
            by_tenant.setdefault(delivered.update.tenant, []).append(delivered)
        start = len(changes)
        try:
            for tenant, deliveries in by_tenant.items():
                async with tenant_transaction(self._engine, tenant.value) as connection:
                    ids = [delivered.message_id for delivered in deliveries]
                    claimed = await claim_batch(
                        connection, consumer=consumer, tenant=tenant, message_ids=ids
                    )
                    updates = first_claimed(deliveries, claimed)
                    committed = await apply_updates(projection, connection, updates)
                changes.extend(committed)
        finally:  # what committed is invalidated even if a later tenant's transaction failed
            tags = dict.fromkeys(
                tag for change in changes[start:] for tag in projection.invalidated(change)
            )
            if tags:
                await self._cache.invalidate(list(tags))

    async def apply_isolating(
        self, projection: RowProjection[Any], consumer: str, batch: Sequence[Delivered[Any]]
    ) -> BatchOutcome[Any]:
        """Apply ``batch``; if it fails, split it in halves until each failing event is
        alone, so only a poison event goes to the failure policy, the later events of its
        aggregate are held back (not applied), and every other event is applied exactly
        once (the inbox makes a retried half skip what an earlier attempt committed)."""
        outcome: BatchOutcome[Any] = BatchOutcome()
        await self._isolate(projection, consumer, list(batch), outcome)
        return outcome

    async def _isolate(
        self,
        projection: RowProjection[Any],
        consumer: str,
        batch: list[Delivered[Any]],
        outcome: BatchOutcome[Any],
    ) -> None:
        blocked = {(d.update.tenant, d.update.key) for d, _ in outcome.failed}
        runnable = []
        for delivered in batch:
            if (delivered.update.tenant, delivered.update.key) in blocked:
                outcome.held.append(delivered)
            else:
                runnable.append(delivered)
        if not runnable:
            return
        try:
            await self._apply_into(outcome.changes, projection, consumer, runnable)
        except Exception as error:
            if len(runnable) == 1:
                outcome.failed.append((runnable[0], error))
                return
            middle = len(runnable) // 2
            await self._isolate(projection, consumer, runnable[:middle], outcome)
            await self._isolate(projection, consumer, runnable[middle:], outcome)
