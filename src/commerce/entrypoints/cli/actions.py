"""What the CLI commands do, kept apart from argument parsing."""

import asyncio
import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import structlog
import uvicorn
from pydantic import SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from commerce.bootstrap.operators import migrate_database, provision_database
from commerce.bootstrap.service import build_service
from commerce.config import BrokerSettings, Settings
from commerce.contract.asyncapi import contract_document, to_json, to_yaml
from commerce.entrypoints.relay import run_relay
from commerce.entrypoints.worker import create_worker, include_routers
from commerce.platform.messaging.commands import Command
from commerce.registry.channels import route_of

__all__ = [
    "ASYNCAPI_SERVERS",
    "OperatorError",
    "export_asyncapi",
    "migrate",
    "preflight",
    "provision",
    "publish",
    "serve",
]

ASYNCAPI_SERVERS = {
    "rabbitmq": "amqp://guest:guest@localhost:5672/",
    "kafka": "kafka://localhost:9092",
}
"""The server each committed AsyncAPI document describes (one document per transport)."""


class _ContractSettings(Settings):
    """The settings the committed documents are built from: the code's defaults plus the
    transport's server, and nothing else. No ``COMMERCE_*`` variable and no ``.env`` is
    read, so the documents do not depend on who exports them or where (environment
    ``development``, no broker namespace, the default partitions and retry policies)."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only the arguments given in code."""
        return (init_settings,)


_log = structlog.get_logger("commerce.cli")


_HOW_TO_START = {
    "PostgreSQL": "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
    "  (or: docker compose up -d postgres)",
    "RabbitMQ": "rabbitmq-server -detached  (or: docker compose up -d rabbitmq)",
    "Kafka": "make kafka  (or, for kafka://localhost:9094: docker compose up -d kafka)",
    "Redis": "redis-server --daemonize yes --port 6379  (or: docker compose up -d redis)",
}


class OperatorError(Exception):
    """A problem the operator can fix; the message says how."""


def _endpoint(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1].split(",")[0]
    host, _, port = netloc.rpartition(":") if ":" in netloc else (netloc, "", "")
    return host or "127.0.0.1", int(port or default_port)


async def _reachable(host: str, port: int) -> str | None:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3.0)
    except (OSError, TimeoutError) as error:
        return str(error) or type(error).__name__
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return None


async def _unreachable(settings: Settings) -> list[str]:
    """One line per service that does not accept a connection: name, address, a fix."""
    broker = "Kafka" if settings.broker.url.get_secret_value().startswith("kafka") else "RabbitMQ"
    targets = {
        "PostgreSQL": _endpoint(settings.database.url.get_secret_value(), 5432),
        broker: _endpoint(settings.broker.url.get_secret_value(), 5672),
        "Redis": _endpoint(settings.redis.url.get_secret_value(), 6379),
    }
    problems = []
    for name, (host, port) in targets.items():
        if (error := await _reachable(host, port)) is not None:
            problems.append(
                f"{name} is unreachable at {host}:{port} ({error}); start it with: "
                f"{_HOW_TO_START[name]}"
            )
    return problems


async def preflight(settings: Settings, *, wait: float = 0.0) -> None:
    """Fail with one line per unreachable service: its name, the address tried, a fix.

    With ``wait``, keep checking (logging what is still missing) for up to ``wait``
    seconds before failing: a process started beside its services waits for them.
    """
    deadline = time.monotonic() + wait
    while problems := await _unreachable(settings):
        if time.monotonic() >= deadline:
            raise OperatorError("\n".join(problems))
        _log.warning("waiting for services", missing=problems, retry_in_seconds=1.0)
        await asyncio.sleep(1.0)


class _WorkerServer(uvicorn.Server):
    """uvicorn's server, except that after the graceful shutdown a stop signal (SIGTERM,
    SIGINT) ends the process with status 0: uvicorn would raise the signal again, and its
    default handler would kill the process, as if it had not shut down cleanly."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


async def serve(settings: Settings, *, worker: bool, relay: bool) -> None:
    """Run the worker over HTTP (with the relay in-process if asked), or the relay alone."""
    if not worker:
        await run_relay(settings)
        return
    app = create_worker(settings, with_relay=relay)
    config = uvicorn.Config(
        app,
        host=settings.http.host,
        port=settings.http.port,
        log_config=None,
        lifespan="on",
        timeout_graceful_shutdown=30,
    )
    await _WorkerServer(config).serve()


async def migrate(settings: Settings, *, revision: str) -> None:
    """Apply migrations as the owner role."""
    try:
        await migrate_database(settings, revision=revision)
    except (OSError, ValueError) as error:
        raise OperatorError(f"migration failed: {error}") from error


async def provision(settings: Settings) -> None:
    """Create database and roles."""
    try:
        await provision_database(settings)
    except (OSError, ValueError) as error:
        raise OperatorError(f"provisioning failed: {error}") from error


async def publish(settings: Settings, command: Command, *, tenant_id: UUID) -> UUID:
    """Publish a validated command; returns its message id."""
    service = build_service(settings)
    await service.transport.broker.start()
    try:
        envelope = await service.send_command(
            route_of(type(command)).channel, command, tenant_id=tenant_id
        )
    finally:
        await service.transport.broker.stop()
        await service.close()
    return envelope.id


def _documents(transport: str) -> dict[str, str]:
    settings = _ContractSettings(broker=BrokerSettings(url=SecretStr(ASYNCAPI_SERVERS[transport])))
    service = build_service(settings)
    include_routers(service)
    document = contract_document(service)
    return {f"{transport}.yaml": to_yaml(document), f"{transport}.json": to_json(document)}


def export_asyncapi(directory: Path, *, check: bool) -> list[Path]:
    """Write (or with ``check``, compare) the documents; returns the stale ones.

    The documents come from the code alone (:class:`_ContractSettings`): the local
    environment and ``.env`` never change them.
    """
    stale = []
    for transport in ASYNCAPI_SERVERS:
        for name, content in _documents(transport).items():
            path = directory / name
            if path.exists() and path.read_text() == content:
                continue
            stale.append(path)
            if not check:
                directory.mkdir(parents=True, exist_ok=True)
                path.write_text(content)
    return stale
