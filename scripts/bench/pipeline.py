"""Scenario ``pipeline``: the real worker and relay processes on RegisterUser commands.

``count`` commands of ten tenants are preloaded into the command channel (confirmed),
then ``commerce run relay`` and ``commerce run worker`` start with the service's default
settings (cheap argon2, see :mod:`scripts.bench.infra`). Each command is one transaction
in the worker (inbox claim, e-mail check, user row, outbox row, ``NOTIFY``); the relay
publishes each event with a broker confirm and marks it sent; the worker's user
directory projection consumes every event in a second transaction.

Figures, from the database's own timestamps (first to last):

* ``commands`` - inbox rows of the RegisterUser consumer per second;
* ``events`` - outbox rows marked sent per second (``sent_at`` is when the relay claimed
  the batch, so the last batch's publishing falls outside the window);
* ``projection`` - inbox rows of the projection per second;
* CPU per handled message (command or projection event) of the worker, per event of
  the relay; cores used; the machine's busy share.

Processing is time-boxed (``max_seconds``): whatever is left in the queue then is dropped.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

from scripts.bench.messages import publish_all, register_user
from scripts.bench.processes import Sampler
from scripts.bench.profiling import Profiler
from scripts.bench.service import ServiceUnderTest, service_under_test
from scripts.bench.stats import rate

from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY
from commerce.platform.messaging.envelope import HeaderStyle

__all__ = ["TENANTS", "preload", "run_pipeline", "wait_for"]

TENANTS = 10
type Progress = Callable[[int], None]


async def preload(service: ServiceUnderTest, count: int) -> None:
    """Publish ``count`` RegisterUser commands of :data:`TENANTS` tenants, confirmed."""
    style = HeaderStyle.RABBIT if service.transport == "rabbit" else HeaderStyle.KAFKA
    tenants = [uuid4() for _ in range(TENANTS)]
    commands = [register_user(tenants[i % TENANTS], i, style) for i in range(count)]
    publisher = await service.publisher()
    try:
        await publish_all(publisher.send, commands)
    finally:
        await publisher.close()


async def wait_for(
    service: ServiceUnderTest,
    done: Callable[[int, int, int], bool],
    *,
    limit: float,
    progress: Progress | None = None,
    what: str = "the pipeline",
    cap: float | None = None,
) -> None:
    """Poll the database until ``done(applied, sent, projected)``.

    Raises after ``limit`` seconds; returns quietly after ``cap`` seconds if given
    (a time-boxed measurement).
    """
    started, seen = time.monotonic(), 0
    while True:
        counts = await service.counts()
        if progress is not None:
            progress(counts.applied - seen)
            seen = counts.applied
        if done(counts.applied, counts.sent, counts.projected):
            return
        service.check_alive()
        elapsed = time.monotonic() - started
        if cap is not None and elapsed > cap:
            return
        if elapsed > limit:
            raise RuntimeError(f"{what} stalled at {counts} after {limit:.0f} s")
        await asyncio.sleep(0.2)


async def run_pipeline(
    transport: str,
    *,
    admin_url: str,
    broker_address: str,
    tansu: bool,
    log_dir: Path,
    count: int,
    max_seconds: float,
    progress: Progress,
    log_level: str = "INFO",
    profile_dir: Path | None = None,
) -> list[tuple[str, str, float]]:
    """One pipeline run, at most ``max_seconds`` of processing; returns its figures.

    Profiles go to ``profile_dir`` when given.
    """
    async with service_under_test(
        transport,
        admin_url=admin_url,
        broker_address=broker_address,
        tansu=tansu,
        log_dir=log_dir,
        log_level=log_level,
    ) as service:
        await preload(service, count)
        relay = await service.start("relay")
        worker = await service.start("worker")
        sampler = Sampler({"worker": worker.pid, "relay": relay.pid})
        sampler.start()
        profiler = Profiler.attach(
            {"worker": worker.pid, "relay": relay.pid}, profile_dir, tag=transport
        )
        try:
            await wait_for(
                service,
                lambda applied, sent, projected: min(applied, sent, projected) >= count,
                limit=max_seconds + 60,
                cap=max_seconds,
                progress=progress,
            )
        finally:
            cut = time.time()  # the service runs on meanwhile: count only what came before
            await profiler.stop()
            await sampler.stop()
        commands = f"consumer = '{REGISTER_USER.consumer}'"
        events = f"consumer = '{USER_DIRECTORY.consumer}'"
        applied = await service.window("inbox", "received_at", commands, until=cut)
        sent = await service.window("outbox", "sent_at", until=cut)
        projected = await service.window("inbox", "received_at", events, until=cut)
        overlap = await service.window(
            "inbox", "received_at", events, since=applied.first, until=applied.last
        )
    # In the commands' window the worker also handled projection events: CPU per message.
    handled = applied.count + overlap.count
    worker_cpu = sampler.cpu_used("worker", applied.first, applied.last)
    return [
        ("commands", "cmd/s", rate(applied.count, applied.first, applied.last)),
        ("events", "ev/s", rate(sent.count, sent.first, sent.last)),
        ("projection", "ev/s", rate(projected.count, projected.first, projected.last)),
        ("worker CPU", "µs/msg", worker_cpu / handled * 1e6),
        ("relay CPU", "µs/ev", sampler.cpu_used("relay", sent.first, sent.last) / sent.count * 1e6),
        ("worker cores", "cores", sampler.cores("worker", applied.first, applied.last)),
        ("relay cores", "cores", sampler.cores("relay", applied.first, applied.last)),
        ("machine busy", "%", 100 * sampler.machine_busy(applied.first, applied.last)),
    ]
