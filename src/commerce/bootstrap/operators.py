"""What operators run besides the service: provisioning, migrations, consoles, rebuilds."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.engine import make_url

from commerce.bootstrap.read_side import query_client as _query_client
from commerce.bootstrap.wiring import (
    SOURCE,
    breakers_from,
    build_transport,
    read_side_for,
    redacted,
)
from commerce.config import Settings
from commerce.platform.delivery.dead_letter_console import (
    DeadLetterConsole,
)
from commerce.platform.outbox.console import OutboxConsole
from commerce.platform.postgres import provisioning
from commerce.platform.postgres.engine import create_engine
from commerce.platform.read_side.projection_rebuild import RebuildReport, rebuild
from commerce.platform.read_side.query_client import QueryClient
from commerce.registry.channels import CONSUMERS
from commerce.registry.projections import REBUILDABLE

__all__ = [
    "PROJECTIONS",
    "dead_letter_console",
    "migrate_database",
    "outbox_console",
    "provision_database",
    "query_client",
    "rebuild_projection",
]

PROJECTIONS: tuple[str, ...] = tuple(REBUILDABLE)
"""The projections ``commerce projections rebuild`` knows."""


async def rebuild_projection(
    settings: Settings, name: str, *, progress: Callable[[int, int], None] | None = None
) -> RebuildReport:
    """Rebuild projection ``name`` as the owner role, swap it in, drop its cached answers."""
    engine = create_engine(
        settings.database.migration_url.get_secret_value(),
        pool_size=3,
        max_overflow=0,
        application_name=f"{settings.service_name}-rebuild",
    )
    read_side = read_side_for(settings, engine, build_transport(settings), breakers_from(settings))
    try:
        target = REBUILDABLE[name]
        report = await rebuild(engine, target, progress=progress)
        await read_side.cache.invalidate([target.projection.tags.everything()])
        return report
    finally:
        await read_side.close()
        await engine.dispose()


def query_client(settings: Settings) -> QueryClient:
    """A client asking queries over the configured broker (``async with`` it)."""
    broker = settings.broker
    return _query_client(
        style=build_transport(settings).style,
        broker_url=broker.url.get_secret_value(),
        kafka_bootstrap=broker.kafka_bootstrap,
        namespace=broker.namespace,
        partitions=broker.partitions,
        source=SOURCE,
    )


def dead_letter_console(settings: Settings) -> DeadLetterConsole:
    """Operators' dead-letter console, as the owner role (``COMMERCE_DATABASE__MIGRATION_URL``)."""
    engine = create_engine(
        settings.database.migration_url.get_secret_value(),
        pool_size=2,
        max_overflow=0,
        application_name=f"{settings.service_name}-dlq",
    )
    return DeadLetterConsole(engine, build_transport(settings), channels=CONSUMERS)


def _role_of(url: str) -> str:
    username = make_url(url).username
    if not username:
        msg = f"database URL {redacted(url)} names no role"
        raise ValueError(msg)
    return username


async def provision_database(settings: Settings) -> None:
    """Create the database and the owner, app and relay roles named by the URLs."""
    database = settings.database
    if database.admin_url is None:
        msg = "COMMERCE_DATABASE__ADMIN_URL is not set: provisioning needs an admin login"
        raise ValueError(msg)
    owner = make_url(database.migration_url.get_secret_value())
    app = make_url(database.url.get_secret_value())
    relay = make_url(database.relay_url.get_secret_value())
    await provisioning.provision(
        database.admin_url.get_secret_value(),
        database=owner.database or "commerce",
        owner=_role_of(str(owner)),
        owner_password=owner.password or "",
        app_role=_role_of(str(app)),
        app_password=app.password or "",
        relay_role=_role_of(str(relay)),
        relay_password=relay.password or "",
    )


async def migrate_database(settings: Settings, *, revision: str = "head") -> None:
    """Upgrade the schema as the owner, granting the app and relay roles their rights."""
    database = settings.database
    await provisioning.migrate(
        database.migration_url.get_secret_value(),
        app_role=_role_of(database.url.get_secret_value()),
        relay_role=_role_of(database.relay_url.get_secret_value()),
        revision=revision,
    )


def outbox_console(settings: Settings) -> OutboxConsole:
    """Operators' outbox console, as the relay role (the one role seeing every tenant's rows)."""
    engine = create_engine(
        settings.database.relay_url.get_secret_value(),
        pool_size=1,
        max_overflow=0,
        application_name=f"{settings.service_name}-outbox",
    )
    return OutboxConsole(engine, sent_retention=settings.relay.sent_retention_hours * 3600)
