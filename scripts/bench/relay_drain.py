"""Scenario ``relay``: how fast ``commerce run relay`` drains a committed outbox backlog.

The relay processes start first (idle, listening). Then ``rows`` UserRegistered outbox
rows of distinct users are committed, the table analysed (see :func:`_seed`), and the
relay's ``NOTIFY`` sent, so every replica wakes at the same moment; the drain ends when
no unsent row is left (polled every 20 ms) or ``max_seconds`` passed. Rate = rows sent /
(end - notify); rows left over are set aside (``failed_at``) before the next phase. Done
with one replica, then (same database, fresh rows) with two. Events go to the stream as
in production: on RabbitMQ the projection's partition exchange routes each into one
durable partition queue (declared by the worker's code), on Kafka to the stream topic.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from scripts.bench.processes import Sampler
from scripts.bench.service import ServiceUnderTest, service_under_test

from commerce.identity.messages.channels import USERS
from commerce.identity.messages.events import UserRegisteredV1
from commerce.platform.outbox.writer import OUTBOX_CHANNEL

__all__ = ["run_relay"]

type Progress = Callable[[int], None]

_SEED = """
WITH seed AS (
    SELECT gen_random_uuid() AS id, gen_random_uuid() AS user_id, n,
           to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at
    FROM generate_series(1, $2::int) AS n
)
INSERT INTO outbox (message_id, tenant_id, aggregate_type, aggregate_id, aggregate_version,
                    event_type, stream, payload, headers, occurred_at)
SELECT id, $1::uuid, $3::text, user_id::text, 1, $4::text, $5::text,
       jsonb_build_object('user_id', user_id, 'email', 'relay-' || n || '@example.com',
                          'display_name', 'Relay User ' || n, 'registered_at', at),
       jsonb_build_object('ce-specversion', '1.0', 'ce-id', id::text, 'ce-source', '/commerce',
                          'ce-type', $4::text, 'ce-time', at, 'ce-subject', user_id::text,
                          'ce-tenantid', $1::text, 'ce-correlationid', id::text,
                          'ce-causationid', id::text, 'ce-aggregateversion', '1',
                          'traceparent', '00-' || md5(id::text) || '-'
                                         || substr(md5(user_id::text), 1, 16) || '-01'),
       clock_timestamp()
FROM seed
"""
_UNSENT = "SELECT count(*) FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"


async def _seed(service: ServiceUnderTest, rows: int) -> float:
    """Insert ``rows`` unsent rows, ``ANALYZE``, then notify; returns the notify's time.

    ``ANALYZE`` does what autovacuum does about a minute after such a burst. Without it
    the planner sorts the whole backlog, the relay's claim then takes an advisory lock
    per unsent row and fails with "out of shared memory" past a few thousand rows
    (``max_locks_per_transaction``), on every pass: see ``docs/performance.md``.
    """
    connection = await service.db()
    await connection.execute(
        _SEED, uuid4(), rows, USERS.aggregate_type, UserRegisteredV1.message_type, USERS.name
    )
    await connection.execute("ANALYZE outbox")
    await connection.execute("SELECT pg_notify($1, '')", OUTBOX_CHANNEL)
    return time.time()


async def _drain(
    service: ServiceUnderTest, rows: int, progress: Progress, cap: float
) -> tuple[int, float]:
    """Poll until the backlog is gone or ``cap`` seconds passed; (rows sent, when)."""
    connection = await service.db()
    deadline, left = time.monotonic() + cap, rows
    while True:
        unsent = int(await connection.fetchval(_UNSENT))
        now = time.time()
        progress(left - unsent)
        left = unsent
        if unsent == 0 or time.monotonic() > deadline:
            return rows - unsent, now
        service.check_alive()
        await asyncio.sleep(0.02)


async def _phase(
    service: ServiceUnderTest, replicas: int, rows: int, cap: float, progress: Progress
) -> tuple[float, float]:
    """Drain with ``replicas`` relays; returns (events/s, relay CPU µs per event)."""
    relays = [await service.start("relay", tag=f"-{replicas}-{n}") for n in range(replicas)]
    sampler = Sampler({f"relay{n}": relay.pid for n, relay in enumerate(relays)})
    sampler.start()
    try:
        committed = await _seed(service, rows)
        sent, done = await _drain(service, rows, progress, cap)
    finally:
        await sampler.stop()
        for relay in relays:
            relay.stop()
    cpu = sum(sampler.cpu_used(f"relay{n}", committed, done) for n in range(replicas))
    return sent / (done - committed), cpu / max(sent, 1) * 1e6


async def run_relay(
    transport: str,
    *,
    admin_url: str,
    broker_address: str,
    tansu: bool,
    log_dir: Path,
    rows: int,
    max_seconds: float,
    progress: Progress,
    log_level: str = "INFO",
) -> list[tuple[str, str, float]]:
    """Drain ``rows`` events with one relay, then ``rows`` more with two (each phase at
    most ``max_seconds``; rows left then stay unsent)."""
    async with service_under_test(
        transport,
        admin_url=admin_url,
        broker_address=broker_address,
        tansu=tansu,
        log_dir=log_dir,
        log_level=log_level,
    ) as service:
        one, one_cpu = await _phase(service, 1, rows, max_seconds, progress)
        await (await service.db()).execute(
            "UPDATE outbox SET failed_at = now() WHERE sent_at IS NULL"
        )
        two, _ = await _phase(service, 2, rows, max_seconds, progress)
    return [
        ("1 replica", "ev/s", one),
        ("2 replicas", "ev/s", two),
        ("relay CPU (1 replica)", "µs/ev", one_cpu),
    ]
