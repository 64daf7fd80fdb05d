"""Scenario ``pipeline``: the real worker and relay processes on the catalogue and order mix.

The headline workload (:func:`scripts.bench.shop_mix.shop_mix`) is the event-sourced
path with no password hashing: ``CreateItem`` and ``PlaceOrder`` over ten tenants, after
each tenant's customer is registered (applied and projected first, not measured).
``relay`` and ``worker`` start with the service's default settings (cheap argon2, see
:mod:`scripts.bench.infra`); the measured commands are then sent (confirmed, a window of
256 in flight: far faster than the service, so a backlog forms at once) and processing is
time-boxed (``max_seconds``): whatever is left in the queue then is dropped. A second,
separate run measures ``RegisterUser`` alone (one password hash per command), reported on
its own lines; argon2 itself is measured apart (:mod:`scripts.bench.argon2_cost`).

Figures, from the database's own timestamps (first to last):

* ``commands`` - inbox rows of the mix's command consumers per second;
* ``events`` - outbox rows marked sent per second (``sent_at`` is when the relay claimed
  the batch, so the last batch's publishing falls outside the window);
* ``projection`` - inbox rows of one projection per stream per second;
* ``projection lag p99`` - per projected event, its outbox row's ``created_at`` (the
  commit's transaction) to the projection's inbox row (``received_at``), at the sustained
  (saturated) rate;
* ``messages/command`` - broker messages published per command: the command itself plus
  the outbox rows sent in the commands' window, per command applied in it;
* CPU per handled message (command or projection event) of the worker, per event of
  the relay; ``CPU all`` - µs per command of worker + relay + the run's Postgres backends
  + the broker processes (RabbitMQ's ``beam.smp``, Tansu), from ``/proc``; the broker is
  shared with whatever else runs on the machine, so on a busy box that figure is high;
* cores used; the machine's busy share.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

from scripts.bench.argon2_cost import argon2_figures
from scripts.bench.messages import Command, publish_all, register_user
from scripts.bench.processes import Sampler, postgres_backends, processes_named
from scripts.bench.profiling import Profiler
from scripts.bench.service import ServiceUnderTest, service_under_test
from scripts.bench.shop_mix import Workload, register_users, shop_mix
from scripts.bench.stats import rate

from commerce.platform.messaging.envelope import HeaderStyle

__all__ = ["TENANTS", "preload", "run_pipeline", "wait_for"]

BROKER_PROCESSES = {"rabbit": ("beam.smp",), "kafka": ("tansu",)}
type Figures = list[tuple[str, str, float]]

TENANTS = 10
type Progress = Callable[[int], None]


def _style(service: ServiceUnderTest) -> HeaderStyle:
    return HeaderStyle.RABBIT if service.transport == "rabbit" else HeaderStyle.KAFKA


async def preload(service: ServiceUnderTest, count: int) -> None:
    """Publish ``count`` RegisterUser commands of :data:`TENANTS` tenants, confirmed."""
    tenants = [uuid4() for _ in range(TENANTS)]
    style = _style(service)
    await send(service, [register_user(tenants[i % TENANTS], i, style) for i in range(count)])


async def send(service: ServiceUnderTest, commands: list[Command]) -> None:
    """Publish ``commands``, confirmed."""
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
    workload: Workload | None = None,
) -> None:
    """Poll the database until ``done(applied, sent, projected)``.

    Raises after ``limit`` seconds; returns quietly after ``cap`` seconds if given
    (a time-boxed measurement). Applied and projected count ``workload``'s consumers
    (RegisterUser and the user directory without one).
    """
    started, seen = time.monotonic(), 0
    while True:
        counts = await (
            service.counts(workload.consumers, workload.projections)
            if workload is not None
            else service.counts()
        )
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
) -> Figures:
    """One pipeline run of the mix, then one of RegisterUser, each at most ``max_seconds``
    of processing, and argon2 apart; returns their figures (RegisterUser's prefixed).

    Profiles (of the mix) go to ``profile_dir`` when given.
    """
    options = {
        "admin_url": admin_url,
        "broker_address": broker_address,
        "tansu": tansu,
        "log_dir": log_dir,
        "log_level": log_level,
    }
    run = {"count": count, "max_seconds": max_seconds, "options": options}
    figures = await _one_run(transport, shop_mix, progress=progress, profile_dir=profile_dir, **run)
    if profile_dir is not None:
        return figures
    users = await _one_run(transport, register_users, progress=None, **run)
    wanted = {"commands", "worker CPU", "CPU all"}
    figures += [(f"RegisterUser {name}", unit, v) for name, unit, v in users if name in wanted]
    return figures + argon2_figures()


async def _one_run(
    transport: str,
    build: Callable[[list[UUID], int, HeaderStyle], Workload],
    *,
    count: int,
    max_seconds: float,
    progress: Progress | None,
    options: dict[str, Any],
    profile_dir: Path | None = None,
) -> Figures:
    async with service_under_test(transport, **options) as service:
        workload = build([uuid4() for _ in range(TENANTS)], count, _style(service))
        relay = await service.start("relay")
        worker = await service.start("worker")
        if workload.setup:
            await send(service, workload.setup)
            setup = len(workload.setup)
            await service_ready(service, workload, setup)
        sampler = Sampler(
            {"worker": worker.pid, "relay": relay.pid},
            groups={
                "postgres": postgres_backends(service.database.name),
                "broker": processes_named(*BROKER_PROCESSES[transport]),
            },
        )
        sampler.start()
        profiler = Profiler.attach(
            {"worker": worker.pid, "relay": relay.pid}, profile_dir, tag=transport
        )
        sending = asyncio.create_task(send(service, workload.commands))
        try:
            # The time box starts with the first measured command applied (a Kafka group
            # may still be joining), not with the first one sent.
            await wait_for(
                service, lambda applied, _, __: applied >= 1, limit=120, workload=workload
            )
            await wait_for(
                service,
                lambda applied, sent, projected: (
                    min(applied, projected) >= count and sent >= count + len(workload.setup)
                ),
                limit=max_seconds + 60,
                cap=max_seconds,
                progress=progress,
                workload=workload,
            )
        finally:
            cut = time.time()  # the service runs on meanwhile: count only what came before
            sending.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sending
            await profiler.stop()
            await sampler.stop()
        return await _figures(service, workload, sampler, cut)


async def service_ready(service: ServiceUnderTest, workload: Workload, setup: int) -> None:
    """Wait until the setup commands are applied and projected."""
    while True:
        counts = await service.counts(workload.setup_consumers, workload.setup_projections)
        if counts.applied >= setup and counts.projected >= setup:
            return
        service.check_alive()
        await asyncio.sleep(0.2)


async def _figures(
    service: ServiceUnderTest, workload: Workload, sampler: Sampler, cut: float
) -> Figures:
    def any_of(consumers: tuple[str, ...]) -> str:
        return "consumer IN (" + ", ".join(f"'{name}'" for name in consumers) + ")"

    commands, events = any_of(workload.consumers), any_of(workload.projections)
    applied = await service.window("inbox", "received_at", commands, until=cut)
    sent = await service.window("outbox", "sent_at", until=cut)
    projected = await service.window("inbox", "received_at", events, until=cut)
    during = {"since": applied.first, "until": applied.last}
    overlap = await service.window("inbox", "received_at", events, **during)
    published = await service.window("outbox", "sent_at", **during)
    lag = await service.projection_lag_p99(workload.projections, **during)
    # In the commands' window the worker also handled projection events: CPU per message.
    handled = applied.count + overlap.count
    window = (applied.first, applied.last)
    everything = sum(sampler.cpu_used(name, *window) for name in _ALL)
    return [
        ("commands", "cmd/s", rate(applied.count, applied.first, applied.last)),
        ("events", "ev/s", rate(sent.count, sent.first, sent.last)),
        ("projection", "ev/s", rate(projected.count, projected.first, projected.last)),
        ("projection lag p99", "ms", lag * 1e3),
        ("messages/command", "msg/cmd", (applied.count + published.count) / max(applied.count, 1)),
        ("worker CPU", "µs/msg", sampler.cpu_used("worker", *window) / handled * 1e6),
        ("relay CPU", "µs/ev", sampler.cpu_used("relay", sent.first, sent.last) / sent.count * 1e6),
        ("CPU all", "µs/cmd", everything / max(applied.count, 1) * 1e6),
        ("worker cores", "cores", sampler.cores("worker", *window)),
        ("relay cores", "cores", sampler.cores("relay", *window)),
        ("machine busy", "%", 100 * sampler.machine_busy(*window)),
    ]


_ALL = ("worker", "relay", "postgres", "broker")
