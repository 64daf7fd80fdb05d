"""The service's units of work: the platform's, handing out every context's repositories.

The platform's units of work own the transaction, the inbox, the event store and the
outbox; the ones here add the repositories of the bounded contexts, so a single unit of
work satisfies each context's port (``IdentityUnitOfWork``, ``CatalogUnitOfWork``,
``OrdersUnitOfWork``, ``BillingUnitOfWork``): :class:`ServiceUnitOfWork`.
"""

from __future__ import annotations

from typing import Any, Protocol

from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.billing.adapters.invoice_repository import SqlInvoiceRepository
from commerce.billing.application.ports import BillingUnitOfWork
from commerce.catalog.adapters.item_repository import SqlItemRepository
from commerce.catalog.application.ports import CatalogUnitOfWork
from commerce.identity.adapters.user_directory import SqlUserDirectory
from commerce.identity.adapters.user_repository import SqlUserRepository
from commerce.identity.application.ports import IdentityUnitOfWork
from commerce.orders.application.ports import OrdersUnitOfWork
from commerce.orders.application.upcasters import STORED_EVENT_UPCASTERS
from commerce.platform.transactions.group_commit import GroupCommit
from commerce.platform.transactions.shared_unit_of_work import (
    SharedUnitOfWork,
    SharedUnitOfWorkFactory,
)
from commerce.platform.transactions.unit_of_work import (
    OwnTransactionUnitOfWork,
    SqlUnitOfWork,
    SqlUnitOfWorkFactory,
)
from commerce.registry.events import integration_event_for
from commerce.registry.ordering import CustomersFromUsers, OrderableItemsFromCatalog

__all__ = [
    "OwnTransactionServiceUnitOfWork",
    "ServiceUnitOfWork",
    "SharedServiceUnitOfWork",
    "shared_units_of_work",
    "units_of_work",
]


class ServiceUnitOfWork(
    IdentityUnitOfWork, CatalogUnitOfWork, OrdersUnitOfWork, BillingUnitOfWork, Protocol
):
    """A unit of work every context's use cases can run in."""


class _ContextRepositories(SqlUnitOfWork):
    """The bounded contexts' repositories, bound to the unit of work's connection."""

    def _bind_repositories(self, connection: AsyncConnection, raw: Any) -> None:
        self._users = SqlUserRepository(connection, raw)
        self._items = SqlItemRepository(connection)
        self._invoices = SqlInvoiceRepository(connection)
        self._user_directory = SqlUserDirectory(connection, raw, self._context.tenant_id)

    @property
    def users(self) -> SqlUserRepository:
        """Users of the message's tenant."""
        self._touch()
        return self._users

    @property
    def items(self) -> SqlItemRepository:
        """Catalogue items of the message's tenant."""
        self._touch()
        return self._items

    @property
    def invoices(self) -> SqlInvoiceRepository:
        """Invoices of the message's tenant."""
        self._touch()
        return self._invoices

    @property
    def user_directory(self) -> SqlUserDirectory:
        """The user directory read model of the message's tenant."""
        self._touch()
        return self._user_directory

    @property
    def customers(self) -> CustomersFromUsers:
        """The message tenant's users, as the orders context sees them."""
        return CustomersFromUsers(self.users)

    @property
    def orderable_items(self) -> OrderableItemsFromCatalog:
        """The message tenant's catalogue, as an order line sees it."""
        return OrderableItemsFromCatalog(self.items)


class OwnTransactionServiceUnitOfWork(_ContextRepositories, OwnTransactionUnitOfWork):
    """The service's unit of work with a transaction of its own."""


class SharedServiceUnitOfWork(_ContextRepositories, SharedUnitOfWork):
    """The service's unit of work as a member of a shared transaction (group commit)."""


def units_of_work(
    engine: AsyncEngine, *, source: str, tracer: Tracer | None = None
) -> SqlUnitOfWorkFactory[OwnTransactionServiceUnitOfWork]:
    """The service's units of work, a transaction each."""
    return SqlUnitOfWorkFactory(
        engine,
        kind=OwnTransactionServiceUnitOfWork,
        source=source,
        tracer=tracer,
        upcasters=STORED_EVENT_UPCASTERS,
        published_as=integration_event_for,
    )


def shared_units_of_work(
    group: GroupCommit, *, source: str, tracer: Tracer | None = None
) -> SharedUnitOfWorkFactory[SharedServiceUnitOfWork]:
    """The service's units of work, sharing the transactions of ``group``."""
    return SharedUnitOfWorkFactory(
        group,
        kind=SharedServiceUnitOfWork,
        source=source,
        tracer=tracer,
        upcasters=STORED_EVENT_UPCASTERS,
        published_as=integration_event_for,
    )
