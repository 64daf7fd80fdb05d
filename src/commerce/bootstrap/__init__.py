"""Composition root: builds the engine, the transport and the use cases' collaborators.

The only package that reads :class:`~commerce.config.Settings` besides the entry points;
everything below it receives plain values. :mod:`.wiring` holds what every process builds,
:mod:`.service` the wired service, :mod:`.operations` what operators run beside it.
"""

from commerce.bootstrap.operators import (
    PROJECTIONS,
    dead_letter_console,
    migrate_database,
    outbox_console,
    provision_database,
    query_client,
    rebuild_projection,
)
from commerce.bootstrap.read_side import ReadSide
from commerce.bootstrap.service import Service, build_service
from commerce.bootstrap.wiring import (
    SOURCE,
    build_transport,
    configure_logging_from,
    serve_relay_metrics,
)
from commerce.platform.delivery.dead_letter_console import (
    DeadLetterConsole,
    DeadLetterNotFoundError,
    InvalidDeadLetterEditError,
    pretty_body,
)
from commerce.platform.delivery.dead_letter_store import (
    DeadLetter,
    DeadLetterFilter,
    DeadLetterStatus,
)
from commerce.platform.messaging.transport import AnyRouter
from commerce.platform.observability.log_context import current_message
from commerce.platform.observability.metrics import exposition as metrics_exposition
from commerce.platform.read_side.projection_rebuild import RebuildBusyError, RebuildReport
from commerce.platform.read_side.query_client import (
    QueryClient,
    QueryFailedError,
    QueryUnansweredError,
)

__all__ = [
    "PROJECTIONS",
    "SOURCE",
    "AnyRouter",
    "DeadLetter",
    "DeadLetterConsole",
    "DeadLetterFilter",
    "DeadLetterNotFoundError",
    "DeadLetterStatus",
    "InvalidDeadLetterEditError",
    "QueryClient",
    "QueryFailedError",
    "QueryUnansweredError",
    "ReadSide",
    "RebuildBusyError",
    "RebuildReport",
    "Service",
    "build_service",
    "build_transport",
    "configure_logging_from",
    "current_message",
    "dead_letter_console",
    "metrics_exposition",
    "migrate_database",
    "outbox_console",
    "pretty_body",
    "provision_database",
    "query_client",
    "rebuild_projection",
    "serve_relay_metrics",
]
