"""Fair share: tenant B's command→event latency alone, and while tenant A floods.

``uv run python -m scripts.bench.fair_share`` (``--help`` for the knobs). The real worker
and relay (``commerce run``) on RabbitMQ (or Kafka with ``--transport kafka``), with a
per-tenant limit of ``--limit`` RegisterUser commands per second (burst: the same) and
the over-limit action ``defer``. Two phases, each on a fresh database and namespace:

* **alone**: tenant B sends ``--b-rate`` commands/s (open loop);
* **with A**: the same, while tenant A sends ``--flood`` times its limit;
* **with A, no limits**: the same with rate limiting off, for comparison (``--no-unlimited``
  leaves it out).

``--runs`` repeats the phases in turn (alone, with A, ...) and reports each figure's median
over the runs, with the box's 1-minute load average: one run's p99 of a few hundred
samples is nearly its maximum, and a shared box drifts.

For each phase, B's command→event percentiles over the measured seconds (after
``--warmup``), as the ``latency`` scenario measures them
(:func:`scripts.bench.latency.latency_figures`), plus how many of A's commands were
applied by the end of the phase. The acceptance bar (issue "fair share per tenant"): B's
p99 with A flooding stays within 20 % of B's p99 alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Annotated, Literal
from uuid import uuid4

import httpx
import typer
from rich.console import Console
from rich.table import Table
from scripts.bench.infra import BenchError, find_endpoints, kafka_broker
from scripts.bench.latency import latency_figures
from scripts.bench.messages import Command, publish_paced
from scripts.bench.probe import start_probe
from scripts.bench.service import ServiceUnderTest, service_under_test

from commerce.config import RateLimitSettings

__all__ = ["app", "run_phase"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
_ROWS = """
SELECT headers->>'ce-causationid' AS cause,
       extract(epoch FROM created_at)::float8 AS committed,
       extract(epoch FROM sent_at)::float8 AS claimed
FROM outbox
"""
_APPLIED = "SELECT count(*) FROM inbox WHERE tenant_id = $1 AND consumer = $2"
_A, _B = uuid4(), uuid4()
"""Tenant A floods, tenant B is measured."""


async def _wait(arrivals: dict[str, float], wanted: set[str], cap: float) -> None:
    deadline = time.monotonic() + cap
    while not wanted <= arrivals.keys() and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.1)


async def _flood(service: ServiceUnderTest, rate: float, total: int) -> list[Command]:
    publisher = await service.publisher()
    try:
        return await publish_paced(publisher, _A, per_second=rate, total=total)
    finally:
        await publisher.close()


async def _worker_counters(service: ServiceUnderTest) -> tuple[float, float]:
    """The worker's deferred commands (all channels) and whether it ever failed open."""
    url = f"http://{service.settings.http.host}:{service.settings.http.port}/metrics"
    async with httpx.AsyncClient(timeout=5) as client:
        text = (await client.get(url)).text
    deferred = failing_open = 0.0
    for line in text.splitlines():
        if line.startswith("commerce_rate_limited_total{") and 'action="deferred"' in line:
            deferred += float(line.rsplit(" ", 1)[1])
        elif line.startswith("commerce_rate_limiter_fail_open "):
            failing_open = float(line.rsplit(" ", 1)[1])
    return deferred, failing_open


async def run_phase(
    service: ServiceUnderTest,
    *,
    limit: float,
    b_rate: float,
    flood: float,
    seconds: float,
    warmup: float,
    limited: bool = True,
    action: Literal["defer", "reject"] = "defer",
) -> dict[str, float]:
    """One phase on a fresh service: B at ``b_rate``, A at ``flood`` x ``limit`` (0: none);
    ``limited=False``: rate limiting off."""
    limits = RateLimitSettings(
        enabled=limited, tenant_rate=limit, tenant_burst=round(limit), action=action
    )
    service.settings = service.settings.model_copy(update={"rate_limits": limits})
    await service.start("relay")
    worker = await service.start("worker")
    probe = await start_probe(service.transport, service.broker_address, service.namespace)
    publisher = await service.publisher()
    duration = warmup + seconds
    try:
        flooding = (
            asyncio.create_task(_flood(service, flood * limit, round(flood * limit * duration)))
            if flood
            else None
        )
        commands = await publish_paced(
            publisher, _B, per_second=b_rate, total=round(b_rate * duration)
        )
        measured = commands[round(b_rate * warmup) :]
        if flooding is not None:
            await flooding
        await _wait(probe.arrivals, {c.id for c in measured}, cap=15)
        service.check_alive()
        records = await (await service.db()).fetch(_ROWS)
        applied_a = await (await service.db()).fetchval(
            _APPLIED, _A, "commerce.identity.register-user"
        )
        deferred, failing_open = await _worker_counters(service)
        episodes = worker.log_path.read_text(errors="replace").count("rate limiter failing open")
    finally:
        await publisher.close()
        await probe.close()
    rows = {r["cause"]: (r["committed"], r["claimed"]) for r in records}
    figures = {label: value for label, _, value in latency_figures(measured, rows, probe.arrivals)}
    return {
        "B command→event p50 (ms)": figures["command→event p50"],
        "B command→event p99 (ms)": figures["command→event p99"],
        "B events missing": figures["events missing"],
        "A offered (cmd/s)": flood * limit,
        "A applied by the end": float(applied_a),
        "deferrals (worker)": deferred,
        "limiter failing open at the end": failing_open,
        "fail-open episodes (worker log)": float(episodes),
    }


async def _measure(
    transport: str,
    *,
    limit: float,
    b_rate: float,
    flood: float,
    seconds: float,
    warmup: float,
    action: Literal["defer", "reject"],
    runs: int,
    unlimited: bool,
) -> dict[str, dict[str, float]]:
    endpoints = find_endpoints(kafka=transport == "kafka")
    log_dir = Path(tempfile.mkdtemp(prefix="commerce-fair-share-"))
    samples: dict[str, dict[str, list[float]]] = {}
    phases = [
        ("alone", 0.0, True),
        (f"with A at {flood:g}x its limit", flood, True),
    ]
    if unlimited:
        phases.append((f"with A at {flood:g}x, no limits", flood, False))
    # runs interleave the phases (alone, with A, ...), so that a drift of the box's load
    # touches every phase alike; each figure is the median over the runs
    for phase, factor, limited in [phase for _ in range(runs) for phase in phases]:
        with contextlib.ExitStack() as stack:
            address = (
                endpoints.rabbit_url
                if transport == "rabbit"
                else stack.enter_context(kafka_broker(endpoints.kafka_bootstrap))
            )
            async with service_under_test(
                transport,
                admin_url=endpoints.postgres_admin_url,
                broker_address=address,
                tansu=transport == "kafka" and endpoints.kafka_bootstrap is None,
                log_dir=log_dir,
            ) as service:
                figures = await run_phase(
                    service,
                    limit=limit,
                    b_rate=b_rate,
                    flood=factor,
                    seconds=seconds,
                    warmup=warmup,
                    limited=limited,
                    action=action,
                )
        figures["load average (1 min)"] = os.getloadavg()[0]
        for figure, value in figures.items():
            samples.setdefault(phase, {}).setdefault(figure, []).append(value)
    return {
        phase: {figure: statistics.median(values) for figure, values in by_figure.items()}
        for phase, by_figure in samples.items()
    }


@app.command()
def fair_share(  # noqa: PLR0917 - typer reads the options from the signature
    transport: Annotated[str, typer.Option(help="rabbit or kafka.")] = "rabbit",
    limit: Annotated[float, typer.Option(min=1, help="Per-tenant limit, commands/s.")] = 50.0,
    b_rate: Annotated[float, typer.Option(min=1, help="Tenant B's offered load.")] = 20.0,
    flood: Annotated[float, typer.Option(min=1, help="A's load, times its limit.")] = 10.0,
    seconds: Annotated[float, typer.Option(min=1, help="Measured seconds per phase.")] = 20.0,
    warmup: Annotated[float, typer.Option(min=0, help="Unmeasured first seconds.")] = 3.0,
    action: Annotated[
        str, typer.Option(help="Over the limit: defer (redeliver later) or reject.")
    ] = "defer",
    runs: Annotated[int, typer.Option(min=1, help="Runs; each figure is their median.")] = 3,
    unlimited: Annotated[
        bool, typer.Option(help="Also measure A's flood with rate limiting off.")
    ] = True,
) -> None:
    """B's command→event latency alone and while A floods at ``flood`` x its limit."""
    console = Console()
    try:
        results = asyncio.run(
            _measure(
                transport,
                limit=limit,
                b_rate=b_rate,
                flood=flood,
                seconds=seconds,
                warmup=warmup,
                action="reject" if action == "reject" else "defer",
                runs=runs,
                unlimited=unlimited,
            )
        )
    except BenchError as error:
        console.print(f"[red]{error}[/]")
        raise typer.Exit(1) from None
    table = Table(
        title=(
            f"fair share on {transport}: limit {limit:g}/s per tenant ({action}),"
            f" B at {b_rate:g}/s, median of {runs} runs"
        )
    )
    phases = list(results)
    table.add_column("figure")
    for phase in phases:
        table.add_column(phase, justify="right")
    for figure in results[phases[0]]:
        table.add_row(figure, *(f"{results[p][figure]:,.1f}" for p in phases))
    console.print(table)
    alone, loaded, *off = (results[p]["B command→event p99 (ms)"] for p in phases)
    console.print(f"B's p99 with A flooding / alone: {loaded / alone:.2f} (bar: <= 1.20)")
    for p99 in off:
        console.print(f"B's p99 with A flooding, no limits / alone: {p99 / alone:.2f}")


if __name__ == "__main__":
    app()
