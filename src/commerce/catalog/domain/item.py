"""The ``Item`` aggregate of the catalog context.

Invariants: the price is a positive :class:`~commerce.platform.kit.money.Money` whose currency is
fixed at creation; the stock is a non-negative whole number; a retired item keeps its
price and is no longer sold. Stock may still be adjusted after retirement (returns,
write-offs).

Repeated commands whose effect already holds (the same price, a zero stock delta,
retiring a retired item) are no-ops without event.

The orders context never sees the aggregate: the composition root hands it a snapshot of
the item (id, active flag, price, name) when a line is added, which is how a line's unit
price is captured at that moment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from commerce.catalog.domain.errors import InsufficientStock, ItemIsRetired
from commerce.catalog.domain.events import ItemCreated, ItemPriceChanged, ItemRetired, StockAdjusted
from commerce.platform.kit.errors import CurrencyMismatch, InvalidValue
from commerce.platform.kit.events import DomainEvent, EventHeader
from commerce.platform.kit.ids import ItemId, TenantId, require_aware
from commerce.platform.kit.money import Money

__all__ = ["Item", "ItemStatus"]

_MAX_NAME = 200


class ItemStatus(StrEnum):
    """Life-cycle state of a catalogue item."""

    ACTIVE = "active"
    RETIRED = "retired"


def _name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > _MAX_NAME:
        raise InvalidValue(f"item name must be 1-{_MAX_NAME} characters")
    return cleaned


def _positive_price(price: Money) -> Money:
    if not price.is_positive:
        raise InvalidValue(f"a price must be greater than zero, not {price}")
    return price


def _whole(number: int, what: str) -> int:
    if isinstance(number, bool) or not isinstance(number, int):
        raise InvalidValue(f"{what} must be a whole number, not {number!r}")
    return number


@dataclass(slots=True, eq=False)
class Item:
    """Something a tenant sells: a name, a price and a stock count."""

    id: ItemId
    tenant_id: TenantId
    name: str
    price: Money
    stock: int
    status: ItemStatus
    version: int
    created_at: datetime
    pending_events: list[DomainEvent] = field(default_factory=list)

    @classmethod
    def create(
        cls,
        *,
        item_id: ItemId,
        tenant_id: TenantId,
        name: str,
        price: Money,
        stock: int = 0,
        now: datetime,
    ) -> Item:
        """Create an active item and record :class:`ItemCreated`."""
        cleaned = _name(name)
        _positive_price(price)
        if _whole(stock, "stock") < 0:
            raise InvalidValue(f"stock cannot be negative, not {stock}")
        require_aware(now)
        item = cls(
            id=item_id,
            tenant_id=tenant_id,
            name=cleaned,
            price=price,
            stock=stock,
            status=ItemStatus.ACTIVE,
            version=1,
            created_at=now,
        )
        item.pending_events.append(
            ItemCreated(
                **item._header(now), item_id=item_id, name=cleaned, price=price, stock=stock
            )
        )
        return item

    @property
    def is_active(self) -> bool:
        """Whether the item is still sold."""
        return self.status is ItemStatus.ACTIVE

    def change_price(self, price: Money, *, now: datetime) -> None:
        """Set a new positive price in the same currency; record :class:`ItemPriceChanged`."""
        _positive_price(price)
        require_aware(now)
        if not self.is_active:
            raise ItemIsRetired(f"item {self.id} is retired; its price cannot change")
        if price.currency != self.price.currency:
            raise CurrencyMismatch(f"item {self.id} is priced in {self.price.currency}")
        if price == self.price:
            return
        old, self.price = self.price, price
        self.version += 1
        self.pending_events.append(
            ItemPriceChanged(**self._header(now), item_id=self.id, old_price=old, new_price=price)
        )

    def adjust_stock(self, delta: int, *, now: datetime, reason: str = "adjustment") -> None:
        """Add ``delta`` (negative to take) to the stock; record :class:`StockAdjusted`.

        Raises :class:`~commerce.platform.kit.errors.InsufficientStock` rather than going below
        zero. A zero delta is a no-op.
        """
        _whole(delta, "a stock delta")
        require_aware(now)
        if delta and self.stock + delta < 0:
            raise InsufficientStock(f"item {self.id} has {self.stock} in stock, not {-delta}")
        if delta:
            self._record_stock(delta, reason, now)

    def retire(self, *, now: datetime) -> None:
        """Withdraw the item from sale (no-op if retired); record :class:`ItemRetired`."""
        require_aware(now)
        if not self.is_active:
            return
        self.status = ItemStatus.RETIRED
        self.version += 1
        self.pending_events.append(ItemRetired(**self._header(now), item_id=self.id))

    def collect_events(self) -> list[DomainEvent]:
        """Hand over the events recorded since the last call."""
        events, self.pending_events = self.pending_events, []
        return events

    def _record_stock(self, delta: int, reason: str, now: datetime) -> None:
        if not reason.strip():
            raise InvalidValue("a stock adjustment needs a reason")
        self.stock += delta
        self.version += 1
        self.pending_events.append(
            StockAdjusted(
                **self._header(now), item_id=self.id, delta=delta, stock=self.stock, reason=reason
            )
        )

    def _header(self, now: datetime) -> EventHeader:
        return {
            "tenant_id": self.tenant_id,
            "aggregate_id": str(self.id),
            "version": self.version,
            "occurred_at": now,
        }
