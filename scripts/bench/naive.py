"""Scenario ``naive``: what a team writes by hand with FastStream and the SQLAlchemy ORM.

A plain FastStream subscriber (pydantic body, ``NACK_ON_ERROR``) opens an ``AsyncSession``
per message, adds one user row and one outbox-like row (mapped classes, JSONB payload),
commits and acks. No inbox, no relay, no tenant scoping, no logging or tracing. Same
concurrency as the service: RabbitMQ prefetch 32, Kafka one record at a time per
subscriber; pool 10 + 5. It runs in its own process on a preloaded queue (the same
RegisterUser commands as the pipeline), and the rate comes from the rows' commit-time
stamps (``clock_timestamp()`` defaults), first to last.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import signal
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

import asyncpg
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.rabbit import RabbitBroker, RabbitQueue
from faststream.rabbit.schemas import Channel
from pydantic import BaseModel
from scripts.bench.infra import delete_rabbit_namespace, new_namespace
from scripts.bench.messages import (
    KafkaCommandPublisher,
    RabbitCommandPublisher,
    publish_all,
    register_user,
)
from scripts.bench.processes import Sampler
from scripts.bench.stats import rate
from sqlalchemy import BigInteger, DateTime, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from tests.support.tansu import FAST_GROUP_TIMEOUTS, ensure_topics

from commerce.identity.messages.channels import REGISTER_USER
from commerce.platform.messaging.envelope import HeaderStyle

__all__ = ["run_naive"]

_SPAWN = multiprocessing.get_context("spawn")
type Progress = Callable[[int], None]


class Base(DeclarativeBase):
    """The naive service's ORM base."""


class NaiveUser(Base):
    """A registered user."""

    __tablename__ = "naive_users"
    id: Mapped[UUID] = mapped_column(primary_key=True)
    email: Mapped[str]
    display_name: Mapped[str]
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class NaiveOutbox(Base):
    """An event to publish later (outbox-like, never relayed here)."""

    __tablename__ = "naive_outbox"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    aggregate_id: Mapped[str]
    event_type: Mapped[str]
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.clock_timestamp()
    )


class Registration(BaseModel):
    """The RegisterUser body as the naive service reads it."""

    user_id: UUID
    email: str
    display_name: str
    password: str


def _broker(kind: str, address: str, source: str, database_url: str) -> Any:
    engine = create_async_engine(database_url, pool_size=10, max_overflow=5)
    sessions = async_sessionmaker(engine)
    broker: Any
    if kind == "rabbit":
        broker = RabbitBroker(address, default_channel=Channel(prefetch_count=32), logger=None)
        subscriber = broker.subscriber(
            RabbitQueue(source, durable=True), ack_policy=AckPolicy.NACK_ON_ERROR
        )
    else:
        broker = KafkaBroker(address, logger=None)
        subscriber = broker.subscriber(
            source,
            group_id=f"{source}.naive",
            auto_offset_reset="earliest",
            ack_policy=AckPolicy.NACK_ON_ERROR,
            **FAST_GROUP_TIMEOUTS,
        )

    @subscriber
    async def register(body: Registration) -> None:
        async with sessions() as session:
            session.add(
                NaiveUser(id=body.user_id, email=body.email, display_name=body.display_name)
            )
            session.add(
                NaiveOutbox(
                    aggregate_id=str(body.user_id),
                    event_type="UserRegistered",
                    payload={"user_id": str(body.user_id), "email": body.email},
                )
            )
            await session.commit()

    return broker


async def _serve(kind: str, address: str, source: str, database_url: str) -> None:
    broker = _broker(kind, address, source, database_url)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await broker.start()
    await stop.wait()
    await broker.stop()


def _service_main(kind: str, address: str, source: str, database_url: str) -> None:
    """The naive service process: consume until SIGTERM."""
    asyncio.run(_serve(kind, address, source, database_url))


async def _create_database(admin_url: str, name: str) -> str:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)
    await engine.dispose()
    return url.render_as_string(hide_password=False)


async def _drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(admin_url)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


async def _wait_rows(
    url: str, count: int, progress: Progress, cap: float
) -> tuple[int, float, float]:
    """Poll until ``count`` users exist or ``cap`` seconds passed since the first one;
    returns (rows, first, last)."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        deadline, seen = time.monotonic() + 60, 0  # 60 s to start
        while (now := await connection.fetchval("SELECT count(*) FROM naive_users")) < count:
            if now and not seen:
                deadline = time.monotonic() + cap
            progress(now - seen)
            seen = now
            if time.monotonic() > deadline:
                if not now:
                    raise RuntimeError("the naive service committed nothing in 60 s")
                break
            await asyncio.sleep(0.2)
        progress(now - seen)
        row = await connection.fetchrow(
            "SELECT count(*) AS n, extract(epoch FROM min(created_at))::float8 AS first,"
            " extract(epoch FROM max(created_at))::float8 AS last FROM naive_users"
            " WHERE created_at <= to_timestamp($1)",
            time.time(),
        )
        assert row is not None
        return row["n"], row["first"] or 0.0, row["last"] or 0.0
    finally:
        await connection.close()


async def run_naive(
    transport: str,
    address: str,
    admin_url: str,
    *,
    count: int,
    max_seconds: float,
    progress: Progress,
) -> list[tuple[str, str, float]]:
    """Preload ``count`` commands, start the naive service, time its commits (at most
    ``max_seconds``; what is left in the queue then is dropped)."""
    namespace, database = new_namespace(), f"commerce_bench_naive_{uuid4().hex[:12]}"
    source = f"{namespace}.{REGISTER_USER.name}"
    tenant = uuid4()
    style = HeaderStyle.RABBIT if transport == "rabbit" else HeaderStyle.KAFKA
    commands = [register_user(tenant, index, style) for index in range(count)]
    url = await _create_database(admin_url, database)
    publisher: RabbitCommandPublisher | KafkaCommandPublisher
    process = None
    try:
        if transport == "rabbit":
            publisher = await RabbitCommandPublisher(address, namespace).start()
        else:
            await ensure_topics(address, [source], partitions=4)
            publisher = await KafkaCommandPublisher(address, namespace).start()
        await publish_all(publisher.send, commands)
        await publisher.close()
        process = _SPAWN.Process(
            target=_service_main, args=(transport, address, source, url), daemon=True
        )
        process.start()
        assert process.pid is not None
        sampler = Sampler({"naive": process.pid})
        sampler.start()
        done, first, last = await _wait_rows(url, count, progress, cap=max_seconds)
        await sampler.stop()
    finally:
        if process is not None:
            process.terminate()
            await asyncio.to_thread(process.join, 20)
        with contextlib.suppress(Exception):
            await _drop_database(admin_url, database)
        if transport == "rabbit":
            await delete_rabbit_namespace(address, namespace)
    return [
        ("commands", "cmd/s", rate(done, first, last)),
        ("service CPU", "µs/cmd", sampler.cpu_used("naive", first, last) / done * 1e6),
        ("service cores", "cores", sampler.cores("naive", first, last)),
    ]
