"""Every query of the published contract: its channel and payload types.

One request channel per query type (``commerce.queries.<context>.<query>``); the reply goes
to the address the requester names (RabbitMQ direct reply-to, a Kafka reply topic).
"""

from __future__ import annotations

from commerce.catalog.messages.queries import GetItemAvailabilityV1
from commerce.identity.messages.queries import GetUserV1, ListUsersV1
from commerce.orders.messages.queries import (
    GetDailyRevenueV1,
    GetOrderSummaryV1,
    ListCustomerOrdersV1,
)
from commerce.platform.messaging.queries import (
    Query,
    QueryChannel,
    QueryFailedV1,
    QueryReply,
    QueryRoute,
)

__all__ = ["QUERIES_BY_NAME", "QUERY_ROUTES", "query_route_of", "reply_types"]


def _channel(context: str, name: str, description: str) -> QueryChannel:
    return QueryChannel(f"commerce.queries.{context}.{name}", description)


QUERY_ROUTES: tuple[QueryRoute, ...] = (
    QueryRoute(_channel("identity", "get-user", "Ask for one user of the directory."), GetUserV1),
    QueryRoute(
        _channel("identity", "list-users", "Page through the directory's users."), ListUsersV1
    ),
    QueryRoute(
        _channel("orders", "get-order-summary", "Ask for one order's summary."),
        GetOrderSummaryV1,
    ),
    QueryRoute(
        _channel("orders", "list-customer-orders", "Page through a customer's orders."),
        ListCustomerOrdersV1,
    ),
    QueryRoute(
        _channel("orders", "get-daily-revenue", "Ask for the revenue per day of a period."),
        GetDailyRevenueV1,
    ),
    QueryRoute(
        _channel("catalog", "get-item-availability", "Ask whether an item can be ordered."),
        GetItemAvailabilityV1,
    ),
)
"""Every query the service answers, in the order the documents list them."""

QUERIES_BY_NAME: dict[str, type[Query]] = {
    route.query.__name__.removesuffix("V1"): route.query for route in QUERY_ROUTES
}
"""Query payload types by name (``GetUser``), for operators' tools."""


def query_route_of(query: type[Query]) -> QueryRoute:
    """The route of ``query``; :class:`LookupError` if it has none."""
    for route in QUERY_ROUTES:
        if route.query is query:
            return route
    msg = f"no channel is catalogued for {query.__name__}"
    raise LookupError(msg)


def reply_types(query: type[Query]) -> tuple[type[QueryReply], ...]:
    """What an answer to ``query`` can carry: its reply, or ``QueryFailed``."""
    return (query.reply, QueryFailedV1)
