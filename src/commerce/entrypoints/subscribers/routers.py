"""Every subscriber of the worker: each bounded context's router, given what it needs, then
the read models, the queries and the dead-letter archivers."""

from commerce.billing.subscribers import billing_router
from commerce.bootstrap.service import Service
from commerce.catalog.subscribers import catalog_router
from commerce.entrypoints.subscribers.query_answering import queries_router
from commerce.entrypoints.subscribers.read_models import read_models_router
from commerce.identity.subscribers import identity_router, user_directory_router
from commerce.orders.subscribers import orders_router
from commerce.platform.messaging.transport import AnyRouter
from commerce.registry.channels import CONSUMERS
from commerce.search.subscribers import search_router

__all__ = ["dead_letter_router", "routers"]


def dead_letter_router(service: Service) -> AnyRouter:
    """The archivers of every consumer's DLQ (into the dead-letter store)."""
    router = service.router()
    for consumer in CONSUMERS:
        service.archive_dead_letters(router, consumer)
    return router


def routers(service: Service) -> list[AnyRouter]:
    """Every router of the worker."""
    clock = service.clock
    return [
        identity_router(service, clock=clock, hasher=service.hasher),
        catalog_router(service, clock=clock),
        orders_router(
            service, clock=clock, snapshot_every=service.settings.event_store.snapshot_every
        ),
        billing_router(service, clock=clock),
        user_directory_router(service, invalidate=service.read_side.cache.invalidate),
        read_models_router(service),
        *([search_router(service, service.search.index)] if service.search else []),
        queries_router(service),
        dead_letter_router(service),
    ]
