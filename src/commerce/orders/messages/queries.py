"""Queries of the order summaries and daily revenue read models (``commerce.orders.order``)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, ClassVar, Self
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, model_validator

from commerce.orders.domain.events import OrderStatus
from commerce.platform.messaging.money import MoneyPayload
from commerce.platform.messaging.queries import Query, QueryReply

__all__ = [
    "MAX_REVENUE_DAYS",
    "CustomerOrdersV1",
    "DailyRevenueV1",
    "GetDailyRevenueV1",
    "GetOrderSummaryV1",
    "ListCustomerOrdersV1",
    "OrderLineEntry",
    "OrderSummaryEntry",
    "OrderSummaryV1",
    "RevenueDay",
]

MAX_REVENUE_DAYS = 366
_ORDER_ID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
_CUSTOMER_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
_ORDER: dict[str, JsonValue] = {
    "order_id": _ORDER_ID,
    "customer_id": _CUSTOMER_ID,
    "status": "confirmed",
    "lines": [
        {
            "item_id": "3f2b8c1e-6a4d-4e0f-9b7a-2c5d8e1f4a6b",
            "quantity": 2,
            "subtotal": {"amount": 3998, "currency": "EUR"},
        }
    ],
    "total": {"amount": 3998, "currency": "EUR"},
    "placed_at": "2025-01-15T09:30:00.412000Z",
    "updated_at": "2025-01-15T09:31:10.000000Z",
    "version": 3,
}
_CURSOR = "2025-01-15T09:30:00.412000+00:00|7c9e6679-7425-40de-944b-e07fc1f90ae7"


class OrderLineEntry(BaseModel):
    """One line: the item, how many, and their price together."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    item_id: UUID = Field(description="The catalogue item.")
    quantity: int = Field(description="Units ordered.")
    subtotal: MoneyPayload = Field(description="Unit price (when added) times quantity.")


class OrderSummaryEntry(BaseModel):
    """An order as its customer's order list shows it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    order_id: UUID = Field(description="The order.")
    customer_id: UUID = Field(description="Who placed it.")
    status: OrderStatus = Field(description="placed, confirmed, shipped or cancelled.")
    lines: list[OrderLineEntry] = Field(description="The lines, in the order they were added.")
    total: MoneyPayload = Field(description="The sum of the lines (the confirmed total).")
    placed_at: AwareDatetime = Field(description="When the order was placed.")
    updated_at: AwareDatetime = Field(description="When the order last changed.")
    version: int = Field(description="The order's version this summary reflects.")


class OrderSummaryV1(QueryReply):
    """The answer to ``GetOrderSummary``: the order, or ``null`` if unknown."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"order": _ORDER}]})

    message_type: ClassVar[str] = "commerce.orders.OrderSummary.v1"

    order: OrderSummaryEntry | None = Field(description="The order; `null` when unknown.")


class GetOrderSummaryV1(Query):
    """One order's summary, by id."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"order_id": _ORDER_ID}]})

    message_type: ClassVar[str] = "commerce.orders.GetOrderSummary.v1"
    reply: ClassVar[type[QueryReply]] = OrderSummaryV1

    order_id: UUID = Field(description="The order asked for.")


class CustomerOrdersV1(QueryReply):
    """The answer to ``ListCustomerOrders``: a page, newest first, and the next cursor."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"orders": [_ORDER], "next_cursor": None}]}
    )

    message_type: ClassVar[str] = "commerce.orders.CustomerOrders.v1"

    orders: list[OrderSummaryEntry] = Field(description="Orders, newest first.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; `null` on the last page."
    )


class ListCustomerOrdersV1(Query):
    """A customer's orders, newest first, a page at a time, optionally filtered.

    The filters (states, a period of placement) are optional: a request without them
    lists every order.
    """

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"customer_id": _CUSTOMER_ID, "limit": 20, "cursor": None},
                {"customer_id": _CUSTOMER_ID, "limit": 20, "cursor": _CURSOR},
                {
                    "customer_id": _CUSTOMER_ID,
                    "limit": 20,
                    "cursor": None,
                    "statuses": ["confirmed", "shipped"],
                    "placed_since": "2025-01-01T00:00:00Z",
                    "placed_before": "2025-02-01T00:00:00Z",
                },
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.ListCustomerOrders.v1"
    reply: ClassVar[type[QueryReply]] = CustomerOrdersV1

    customer_id: UUID = Field(description="The customer.")
    limit: Annotated[int, Field(ge=1, le=100)] = Field(default=20, description="Page size.")
    cursor: Annotated[str, Field(max_length=100)] | None = Field(
        default=None, description="`next_cursor` of the previous page."
    )
    statuses: Annotated[list[OrderStatus], Field(min_length=1, max_length=5)] | None = Field(
        default=None, description="Only orders in one of these states; any state if absent."
    )
    placed_since: AwareDatetime | None = Field(
        default=None, description="Only orders placed at or after this instant."
    )
    placed_before: AwareDatetime | None = Field(
        default=None, description="Only orders placed before this instant."
    )

    @model_validator(mode="after")
    def _a_period_that_can_hold_orders(self) -> Self:
        if self.placed_since and self.placed_before and self.placed_since >= self.placed_before:
            raise ValueError("placed_since must be before placed_before")
        return self


class RevenueDay(BaseModel):
    """Revenue booked on one day (UTC) in one currency."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    day: date = Field(description="The day the orders were confirmed (UTC).")
    revenue: MoneyPayload = Field(
        description="Confirmed totals, less orders cancelled after confirmation."
    )
    orders: int = Field(description="Confirmed orders still counted.")


class DailyRevenueV1(QueryReply):
    """The answer to ``GetDailyRevenue``: each day with revenue, by day and currency."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "days": [
                        {
                            "day": "2025-01-15",
                            "revenue": {"amount": 3998, "currency": "EUR"},
                            "orders": 1,
                        }
                    ]
                }
            ]
        }
    )

    message_type: ClassVar[str] = "commerce.orders.DailyRevenue.v1"

    days: list[RevenueDay] = Field(description="Days with revenue, oldest first.")


class GetDailyRevenueV1(Query):
    """The tenant's revenue per day (UTC) from ``first_day`` to ``last_day`` inclusive."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"first_day": "2025-01-01", "last_day": "2025-01-31"}]}
    )

    message_type: ClassVar[str] = "commerce.orders.GetDailyRevenue.v1"
    reply: ClassVar[type[QueryReply]] = DailyRevenueV1

    first_day: date = Field(description="The first day (UTC).")
    last_day: date = Field(description=f"The last day; at most {MAX_REVENUE_DAYS} days in all.")

    @model_validator(mode="after")
    def _a_bounded_range(self) -> Self:
        days = (self.last_day - self.first_day).days + 1
        if not 1 <= days <= MAX_REVENUE_DAYS:
            raise ValueError(f"the range must cover 1 to {MAX_REVENUE_DAYS} days, not {days}")
        return self
