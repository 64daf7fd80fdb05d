"""FastStream subscribers of the read side: one answering handler per query channel.

Every worker answers every query channel (competing consumers), from the read models
through the cache; see :mod:`commerce.platform.read_side.query_server` for the exchange per
transport.
"""

from commerce.bootstrap.service import Service
from commerce.platform.messaging.transport import AnyRouter
from commerce.registry.queries import QUERY_ROUTES

__all__ = ["queries_router"]


def queries_router(service: Service) -> AnyRouter:
    """The query subscribers."""
    router = service.transport.router()
    service.read_side.answer(router, QUERY_ROUTES)
    return router
