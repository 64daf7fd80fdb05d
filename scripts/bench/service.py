"""The service under test for one run: a fresh database and broker namespace, the real
``commerce run worker`` / ``relay`` processes, a command publisher, and what the
database says happened (counted and timed with the database's clock).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import asyncpg
from scripts.bench.infra import (
    create_kafka_topics,
    delete_rabbit_namespace,
    fresh_database,
    new_namespace,
    service_settings,
)
from scripts.bench.messages import KafkaCommandPublisher, RabbitCommandPublisher
from scripts.bench.processes import ServiceProcess, start_service
from tests.support.database import ProvisionedDatabase
from tests.support.worker import running_worker

from commerce.config import Settings
from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY

__all__ = ["Counts", "ServiceUnderTest", "Window", "service_under_test"]

_COUNTS = """
SELECT (SELECT count(*) FROM inbox WHERE consumer = ANY($1::text[])) AS applied,
       (SELECT count(*) FROM outbox WHERE sent_at IS NOT NULL) AS sent,
       (SELECT count(*) FROM inbox WHERE consumer = ANY($2::text[])) AS projected,
       (SELECT count(*) FROM dead_letters) AS dead
"""
_LAG = """
SELECT percentile_cont(0.99) WITHIN GROUP (
         ORDER BY extract(epoch FROM i.received_at - o.created_at)) AS p99
FROM inbox i JOIN outbox o ON o.message_id = i.message_id
WHERE i.consumer = ANY($1::text[])
  AND i.received_at BETWEEN to_timestamp($2) AND to_timestamp($3)
"""
_WINDOW = """
SELECT count(*) AS n, extract(epoch FROM min({column}))::float8 AS first,
       extract(epoch FROM max({column}))::float8 AS last FROM {table} {where}
"""


class Counts(NamedTuple):
    """Commands applied, events marked sent, events projected, dead letters."""

    applied: int
    sent: int
    projected: int
    dead: int


class Window(NamedTuple):
    """How many rows, and the first and last of their timestamps (Unix seconds)."""

    count: int
    first: float
    last: float


@dataclass
class ServiceUnderTest:
    """One run's database, settings and processes."""

    transport: str
    broker_address: str
    database: ProvisionedDatabase
    settings: Settings
    log_dir: Path
    processes: list[ServiceProcess] = field(default_factory=list)
    _db: asyncpg.Connection | None = None

    @property
    def namespace(self) -> str:
        """The run's broker namespace."""
        return self.settings.broker.namespace

    async def start(self, what: str, *, tag: str = "") -> ServiceProcess:
        """Start ``commerce run <what>`` and wait until it is up."""
        process = await start_service(what, self.settings, self.log_dir, tag=tag)
        self.processes.append(process)
        return process

    async def publisher(self) -> RabbitCommandPublisher | KafkaCommandPublisher:
        """A started command publisher for this run's namespace."""
        if self.transport == "rabbit":
            return await RabbitCommandPublisher(self.broker_address, self.namespace).start()
        return await KafkaCommandPublisher(self.broker_address, self.namespace).start()

    async def db(self) -> asyncpg.Connection:
        """A superuser connection to the run's database (sees every tenant)."""
        if self._db is None:
            self._db = await asyncpg.connect(self.database.admin_url)
        return self._db

    async def _fetchrow(self, query: str, *args: object) -> asyncpg.Record:
        """One row; reconnects once if the connection was lost (a database restart)."""
        for attempt in (1, 2):
            try:
                row = await (await self.db()).fetchrow(query, *args)
            except (OSError, asyncpg.InterfaceError, asyncpg.PostgresConnectionError):
                self._db = None
                if attempt == 2:
                    raise
                await asyncio.sleep(1.0)
                continue
            assert row is not None
            return row
        raise AssertionError("unreachable")

    async def counts(
        self,
        consumers: Sequence[str] = (REGISTER_USER.consumer,),
        projections: Sequence[str] = (USER_DIRECTORY.consumer,),
    ) -> Counts:
        """What the service has done so far: inbox rows of ``consumers`` (applied) and of
        ``projections`` (projected), outbox rows sent, dead letters."""
        row = await self._fetchrow(_COUNTS, list(consumers), list(projections))
        return Counts(row["applied"], row["sent"], row["projected"], row["dead"])

    async def window(
        self,
        table: str,
        column: str,
        *conditions: str,
        since: float | None = None,
        until: float | None = None,
    ) -> Window:
        """Count and first/last ``column`` of ``table``'s rows meeting every condition,
        with ``column`` in ``since``..``until`` (Unix seconds) when given."""
        where = [f"{column} IS NOT NULL", *conditions]
        if since is not None:
            where.append(f"{column} >= to_timestamp({since!r})")
        if until is not None:
            where.append(f"{column} <= to_timestamp({until!r})")
        query = _WINDOW.format(table=table, column=column, where="WHERE " + " AND ".join(where))
        row = await self._fetchrow(query)
        return Window(row["n"], row["first"] or 0.0, row["last"] or 0.0)

    async def projection_lag_p99(
        self, projections: Sequence[str], *, since: float, until: float
    ) -> float:
        """p99 (seconds) over the events ``projections`` received in ``since``..``until``
        of the time from the event's commit (its outbox row's ``created_at``) to the
        projection's inbox row for it (``received_at``)."""
        row = await self._fetchrow(_LAG, list(projections), since, until)
        return float("nan") if row["p99"] is None else float(row["p99"])

    def check_alive(self) -> None:
        """Raise with the log's end if a service process died."""
        for process in self.processes:
            if not process.stopped and not process.alive():
                raise RuntimeError(f"{process.what} exited during the run:\n{process.log_tail()}")

    async def close(self) -> None:
        """Stop the processes and close the database connection."""
        for process in self.processes:
            process.stop()
        if self._db is not None:
            await self._db.close()


async def _declare_topology(settings: Settings, transport: str, address: str) -> None:
    """Declare every queue, exchange or topic before commands are preloaded.

    On RabbitMQ the worker's code declares them (started and stopped in this process),
    so the projection's partition queues exist before the first event is published.
    """
    if transport == "kafka":
        await create_kafka_topics(address, settings)
        return
    async with running_worker(settings):
        pass


@asynccontextmanager
async def service_under_test(
    transport: str,
    *,
    admin_url: str,
    broker_address: str,
    tansu: bool,
    log_dir: Path,
    log_level: str = "INFO",
) -> AsyncIterator[ServiceUnderTest]:
    """A fresh database, namespace and topology; processes stopped and all removed after."""
    broker_url = broker_address if transport == "rabbit" else f"kafka://{broker_address}"
    async with fresh_database(admin_url) as database:
        settings = service_settings(
            database, broker_url, new_namespace(), tansu=tansu, log_level=log_level
        )
        service = ServiceUnderTest(transport, broker_address, database, settings, log_dir)
        try:
            await _declare_topology(settings, transport, broker_address)
            yield service
        except BaseException:
            await service.close()  # the logs stay for diagnosis
            raise
        else:
            await service.close()
            for process in service.processes:
                process.log_path.unlink(missing_ok=True)
        finally:
            if transport == "rabbit":
                with contextlib.suppress(Exception):
                    await delete_rabbit_namespace(broker_address, service.namespace)
