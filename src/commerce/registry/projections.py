"""The projections of the read side: how each is kept live and how it is rebuilt.

Live: an ordered consumer's handler folds one integration event into the projection's row
inside the message's unit of work (inbox and row commit together), then, once committed,
invalidates the cache tags of the rows it changed. Rebuild: see
:mod:`commerce.platform.read_side.projection_rebuild`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from commerce.catalog.adapters.projections import (
    ITEM_AVAILABILITY_PROJECTION,
    availability_from_item,
)
from commerce.catalog.application.read_models import track_availability
from commerce.identity.adapters.projections import USER_DIRECTORY_PROJECTION, directory_from_user
from commerce.orders.adapters.projections import ORDER_SUMMARY_PROJECTION, REVENUE_PROJECTION
from commerce.orders.application.read_models import contribute, summarize
from commerce.orders.application.upcasters import STORED_EVENT_UPCASTERS
from commerce.orders.application.use_cases import ORDER_CODEC, ORDER_STREAM
from commerce.orders.messages.events import order_event_for
from commerce.platform.kit.ids import TenantId
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.postgres.tables import catalog_items, users
from commerce.platform.read_side.ports import QueryCache
from commerce.platform.read_side.projection_kit import Change, RowProjection, Update, apply_updates
from commerce.platform.read_side.projection_rebuild import Rebuildable
from commerce.platform.read_side.projection_sources import EventStoreSource, Fold, StateSource
from commerce.platform.transactions.ports import UnitOfWork
from commerce.platform.transactions.unit_of_work import SqlUnitOfWork

__all__ = ["LIVE", "REBUILDABLE", "LiveProjection", "Projector"]


def _order_id(event: IntegrationEvent) -> UUID:
    value = getattr(event, "order_id", None)
    if not isinstance(value, UUID):
        raise TypeError(f"{type(event).__name__} carries no order_id")
    return value


def _item_id(event: IntegrationEvent) -> UUID:
    value = getattr(event, "item_id", None)
    if not isinstance(value, UUID):
        raise TypeError(f"{type(event).__name__} carries no item_id")
    return value


def _revenue(state: Any, event: IntegrationEvent, *, version: int, at: datetime) -> Any:
    del at
    return contribute(state, event, version=version)


@dataclass(frozen=True, slots=True)
class LiveProjection[S: Any]:
    """A projection kept by an ordered consumer: its rows, key and fold."""

    projection: RowProjection[S]
    key: Callable[[IntegrationEvent], UUID]
    fold: Fold[S]

    def update(
        self, event: IntegrationEvent, *, tenant: TenantId, version: int, at: datetime
    ) -> Update[S]:
        """The update one live event makes."""
        apply = partial(_apply, self.fold, event, version, at)
        return Update(tenant, self.key(event), version, apply)


def _apply(fold: Fold[Any], event: IntegrationEvent, version: int, at: datetime, state: Any) -> Any:
    return fold(state, event, version=version, at=at)


ORDER_SUMMARIES_LIVE = LiveProjection(ORDER_SUMMARY_PROJECTION, _order_id, summarize)
REVENUE_LIVE = LiveProjection(REVENUE_PROJECTION, _order_id, _revenue)
ITEM_AVAILABILITY_LIVE = LiveProjection(ITEM_AVAILABILITY_PROJECTION, _item_id, track_availability)

LIVE: dict[str, LiveProjection[Any]] = {
    live.projection.name: live
    for live in (ORDER_SUMMARIES_LIVE, REVENUE_LIVE, ITEM_AVAILABILITY_LIVE)
}
"""Projections kept by this module's consumers, by name."""


def _from_orders(live: LiveProjection[Any]) -> Rebuildable[Any]:
    source: EventStoreSource[Any] = EventStoreSource(
        stream_type=ORDER_STREAM,
        decode=ORDER_CODEC.decode,
        publish=order_event_for,
        upcasters=STORED_EVENT_UPCASTERS,
        key=live.key,
        fold=live.fold,
    )
    return Rebuildable(live.projection, source)


REBUILDABLE: dict[str, Rebuildable[Any]] = {
    "order-summaries": _from_orders(ORDER_SUMMARIES_LIVE),
    "revenue": _from_orders(REVENUE_LIVE),
    "item-availability": Rebuildable(
        ITEM_AVAILABILITY_PROJECTION,
        StateSource(
            source=catalog_items,
            source_key="id",
            copy_key="item_id",
            state_of=availability_from_item,
            key_of=lambda item: item.item_id,
        ),
    ),
    "user-directory": Rebuildable(
        USER_DIRECTORY_PROJECTION,
        StateSource(
            source=users,
            source_key="id",
            copy_key="user_id",
            state_of=directory_from_user,
            key_of=lambda user: user.user_id,
        ),
    ),
}
"""Every projection ``commerce projections rebuild`` knows, by name."""


class Projector:
    """Builds the unit-of-work handlers of live projections and invalidates after commit."""

    def __init__(self, cache: QueryCache) -> None:
        self._cache = cache

    def handler(
        self,
        live: LiveProjection[Any],
        event: IntegrationEvent,
        *,
        tenant: TenantId,
        version: int,
        at: datetime,
    ) -> tuple[Callable[[UnitOfWork], Awaitable[None]], list[Change[Any]]]:
        """The handler folding ``event`` in the unit of work, and the list its changes go to."""
        changes: list[Change[Any]] = []
        update = live.update(event, tenant=tenant, version=version, at=at)

        async def project(uow: UnitOfWork) -> None:
            if not isinstance(uow, SqlUnitOfWork):
                raise TypeError("live projections run in the SQL unit of work")
            changes.extend(await apply_updates(live.projection, uow.connection, [update]))

        return project, changes

    async def invalidate(self, live: LiveProjection[Any], changes: list[Change[Any]]) -> None:
        """Drop cached answers built from the changed rows (after the commit)."""
        tags = [tag for change in changes for tag in live.projection.invalidated(change)]
        if tags:
            await self._cache.invalidate(tags)
