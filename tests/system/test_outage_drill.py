"""The outage drill: commands flow on RabbitMQ and on Kafka side by side; the database
stops for five minutes and starts again, then Redis stops for a while. Nobody touches
anything: afterwards every valid command was applied exactly once, none of them is in the
DLQ, every caused event was published in order, and the worker's metrics show its
consumers paused and resumed. While Redis is down, commands still flow and queries answer
from the database.

The database and Redis are servers of the drill's own (stopping the shared ones would break
every test running beside it). ``COMMERCE_TEST_OUTAGE_SECONDS`` shortens the database
outage on a developer's machine; CI runs the full five minutes.
"""

import asyncio
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from pprint import pformat
from typing import NoReturn
from uuid import UUID

import httpx
import pytest
from pydantic import SecretStr

from commerce.bootstrap.operators import query_client
from commerce.config import Settings
from commerce.identity.messages.queries import GetUserV1, UserDetailsV1
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.postgres.engine import create_engine
from tests.support.database import provision_and_migrate, unique_database_name
from tests.support.drill import DrillBroker, RabbitDrill, wait_ready
from tests.support.drill_checks import judge, read_state
from tests.support.drill_plan import Drill, plan_drill
from tests.support.drill_sender import applied, wait_for
from tests.support.exposed_metrics import samples
from tests.support.kafka_drill import KafkaDrill
from tests.support.private_services import PrivatePostgres, PrivateRedis, PrivateServiceError
from tests.support.processes import ServiceProcesses
from tests.support.tansu import TansuBroker, TansuError, free_port
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

OUTAGE_SECONDS = float(os.environ.get("COMMERCE_TEST_OUTAGE_SECONDS", "300"))
REDIS_OUTAGE_SECONDS = 30.0
TOTAL = 1_000  # per transport: a quarter before, during and after the outage, and without Redis
READY_SECONDS = 180


def _cannot(reason: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    try:
        with PrivatePostgres() as postgres:
            yield postgres
    except PrivateServiceError as error:
        _cannot(f"cannot run a private PostgreSQL cluster: {error}")


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    try:
        with PrivateRedis() as redis:
            yield redis
    except PrivateServiceError as error:
        _cannot(f"cannot run a private Redis server: {error}")


@pytest.fixture
def kafka_drill() -> Iterator[KafkaDrill]:
    with ExitStack() as stack:
        try:
            tansu = stack.enter_context(TansuBroker())
        except TansuError as error:
            _cannot(f"cannot start a Tansu broker: {error}")
        yield KafkaDrill(tansu)


class Side:
    """One transport's service, its plan of commands and what happened to it."""

    def __init__(self, broker: DrillBroker, settings: Settings, drill: Drill) -> None:
        self.broker, self.settings, self.drill = broker, settings, drill
        self.name = "kafka" if broker.url.startswith("kafka") else "rabbitmq"
        self.metrics_during: str = ""
        self.ready_during: str = ""
        self.answered_without_redis: list[object] = []
        self.sent_keys: list[str] = []
        """Partition keys of the commands sent so far: each registers the user of that id."""

    async def publish(self, count: int) -> None:
        for _ in range(count):
            message = self.drill.first_wave.pop(0)
            await self.broker.publish(self.settings, message)
            self.sent_keys.append(message.key)

    async def scrape(self, path: str) -> str:
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"http://127.0.0.1:{self.settings.http.port}{path}")
        return response.text


@asynccontextmanager
async def _running(
    broker: DrillBroker, admin_url: str, redis_url: str, tmp_path: Path
) -> AsyncIterator[tuple[Side, ServiceProcesses]]:
    database = await provision_and_migrate(admin_url, unique_database_name())
    settings = settings_for(database, broker.url)
    settings.redis.url = SecretStr(redis_url)
    settings.http.port = free_port()
    settings.broker.kafka_command_members = 1
    settings.broker.kafka_heartbeat_interval_ms = 1_500
    settings.broker.kafka_session_timeout_ms = 6_000
    settings.broker.kafka_fetch_max_wait_ms = 2_000
    kafka = broker.url.startswith("kafka")
    style = HeaderStyle.KAFKA if kafka else HeaderStyle.RABBIT
    drill = plan_drill(
        style, total=TOTAL, duplicates=TOTAL // 20, undecodable=0, invalid=0, followed_up=0
    )
    await broker.prepare(settings)
    log_dir = tmp_path / ("kafka" if kafka else "rabbitmq")
    log_dir.mkdir()
    with ServiceProcesses(environment_for(settings), log_dir) as services:
        services.start("worker")
        services.start("relay")
        await wait_ready(settings, timeout=READY_SECONDS)
        yield Side(broker, settings, drill), services


async def _applied(side: Side, engine_url: str, count: int, timeout: float, what: str) -> None:
    engine = create_engine(engine_url, pool_size=1)
    try:

        async def enough() -> bool:
            return await applied(engine, side.drill.tenant, count)

        await wait_for(enough, timeout, what, poll=1)
    finally:
        await engine.dispose()


@pytest.mark.timeout(int(OUTAGE_SECONDS) + 900)
async def test_a_five_minute_database_outage_needs_no_operator(
    private_postgres: PrivatePostgres,
    private_redis: PrivateRedis,
    rabbit_url: str,
    kafka_drill: KafkaDrill,
    tmp_path: Path,
) -> None:
    brokers: list[DrillBroker] = [RabbitDrill(rabbit_url), kafka_drill]
    admin = private_postgres.admin_url
    async with (
        _running(brokers[0], admin, private_redis.url, tmp_path) as (rabbit, rabbit_services),
        _running(brokers[1], admin, private_redis.url, tmp_path) as (kafka, kafka_services),
    ):
        sides = (rabbit, kafka)
        third = len(rabbit.drill.first_wave) // 4
        await asyncio.gather(*(side.publish(third) for side in sides))
        await asyncio.gather(
            *(
                _applied(side, side.settings.database.url.get_secret_value(), third // 2, 240,
                         f"{side.name}: first commands applied")
                for side in sides
            )
        )  # fmt: skip

        private_postgres.stop()
        stopped = time.monotonic()
        print(f"drill: database stopped for {OUTAGE_SECONDS:.0f} s", file=sys.stderr)
        await asyncio.gather(*(side.publish(third) for side in sides))
        await asyncio.sleep(max(0.0, min(60.0, OUTAGE_SECONDS - 5)))
        for side in sides:
            side.metrics_during = await side.scrape("/metrics")
            side.ready_during = await side.scrape("/ready")
        await asyncio.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped)))
        private_postgres.start()
        print("drill: database started again", file=sys.stderr)

        await asyncio.gather(*(side.publish(third) for side in sides))
        await asyncio.gather(
            *(
                _applied(side, side.settings.database.url.get_secret_value(), 3 * third // 2,
                         300, f"{side.name}: commands after the outage applied")
                for side in sides
            )
        )  # fmt: skip

        private_redis.stop()
        print(f"drill: Redis stopped for {REDIS_OUTAGE_SECONDS:.0f} s", file=sys.stderr)
        redis_stopped = time.monotonic()
        await asyncio.gather(*(side.publish(len(side.drill.first_wave)) for side in sides))
        for side in sides:
            side.answered_without_redis = await _ask_users(side)
        await asyncio.sleep(max(0.0, REDIS_OUTAGE_SECONDS - (time.monotonic() - redis_stopped)))
        private_redis.start()
        results = await asyncio.gather(*(_outcome(side) for side in sides))
        for services in (rabbit_services, kafka_services):
            services.stop("worker")
            services.stop("relay")
    for broker in brokers:
        await broker.close()

    for side, (failures, metrics_after) in zip(sides, results, strict=True):
        name = side.name
        assert not failures, f"{name}: broken:\n" + pformat(failures, width=100)
        paused = samples(side.metrics_during, "commerce_consumer_state")
        assert 2.0 in paused, f"{name}: no consumer paused during the outage"
        assert "postgres outage" in side.ready_during, f"{name}: /ready: {side.ready_during}"
        pauses = samples(metrics_after, "commerce_consumer_pauses_total", dependency="postgres")
        assert sum(pauses) >= 1, f"{name}: the pauses were not counted"
        states = samples(metrics_after, "commerce_consumer_state")
        assert set(states) == {0.0}, f"{name}: a consumer is not running again: {states}"
        answers = side.answered_without_redis
        assert all(isinstance(reply, UserDetailsV1) and reply.user for reply in answers), (
            f"{name}: queries failed without Redis: {answers}"
        )


ASKED = 5


async def _ask_users(side: Side) -> list[object]:
    """Ask for users registered before the outages while Redis is down: the replies."""
    users = [UUID(key) for key in side.sent_keys[:ASKED]]
    answered: list[object] = []
    async with query_client(side.settings) as client:
        for user in users:
            reply = await client.ask(
                GetUserV1(user_id=user), tenant_id=side.drill.tenant, within=10
            )
            answered.append(reply)
    return answered


async def _outcome(side: Side) -> tuple[dict[str, object], str]:
    """What broke on ``side`` once everything should have caught up, and its metrics."""
    database_url = side.settings.database.url.get_secret_value()
    owner_url = side.settings.database.migration_url.get_secret_value()
    valid = len(side.drill.valid)
    await _applied(side, database_url, valid, 600, f"{side.name}: all applied")
    app = create_engine(database_url, pool_size=1)
    owner = create_engine(owner_url, pool_size=1)
    try:

        async def drained() -> bool:
            return await side.broker.unfinished(side.settings) == {}

        await wait_for(drained, 300, f"{side.name}: consumers caught up", poll=2)

        async def projected() -> bool:
            state = await read_state(app, owner, side.drill)
            return state.directory == state.users

        await wait_for(projected, 120, f"{side.name}: directory caught up", poll=2)
        state = await read_state(app, owner, side.drill)
        published = await side.broker.collect_events(
            side.settings, set(state.caused), str(side.drill.tenant)
        )
        metrics = await side.scrape("/metrics")
    finally:
        await app.dispose()
        await owner.dispose()
    window = (datetime.now(UTC), datetime.now(UTC))
    failures = judge(side.drill, state, published, "", rate=0.0, window=window)
    return failures, metrics
