"""Runs the chosen scenarios ``runs`` times on each transport, with progress bars.

Runs are interleaved (run 1 of every scenario and transport, then run 2, ...) so that a
slow minute on a shared machine spreads over all figures instead of spoiling one. A Tansu
broker is started fresh for each run's Kafka block. A failed run is noted and skipped.
"""

from __future__ import annotations

import contextlib
import time
import traceback
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from scripts.bench.infra import Endpoints, kafka_broker
from scripts.bench.latency import run_latency
from scripts.bench.naive import run_naive
from scripts.bench.pipeline import run_pipeline
from scripts.bench.profiling import Profile, summarize
from scripts.bench.raw import run_raw
from scripts.bench.relay_drain import run_relay
from scripts.bench.soak import run_soak
from scripts.bench.stats import Results

__all__ = ["Options", "Scenario", "run_all"]

type Figures = list[tuple[str, str, float]]
type Advance = Callable[[int], None]


class Scenario(StrEnum):
    """What to measure (see the package docstring)."""

    RAW = "raw"
    NAIVE = "naive"
    PIPELINE = "pipeline"
    LATENCY = "latency"
    RELAY = "relay"


@dataclass
class Options:
    """Everything the command line chooses."""

    scenarios: list[Scenario]
    transports: list[str]
    runs: int = 3
    raw_messages: int = 20_000
    commands: int = 10_000
    max_seconds: float = 10.0
    rate: float = 1_000.0
    seconds: float = 8.0
    warmup: float = 2.0
    relay_rows: int = 20_000
    soak: bool = False
    soak_minutes: float = 10.0
    profile: bool = True
    log_level: str = "INFO"
    log_dir: Path = field(default_factory=Path)

    def settings_lines(self) -> list[str]:
        """The run's parameters, for the report."""
        return [
            f"**Runs**: {self.runs} per figure (median, min..max); scenarios "
            f"{', '.join(self.scenarios)}; transports {', '.join(self.transports)}",
            f"**Sizes**: raw {self.raw_messages:,} messages; naive {self.commands:,} "
            f"preloaded RegisterUser commands; pipeline {self.commands:,} catalogue and order "
            f"commands (CreateItem, PlaceOrder), then {self.commands:,} RegisterUser apart; "
            f"each at most {self.max_seconds:g} s of processing; latency "
            f"{self.rate:,.0f} commands/s for {self.warmup:g} s warm-up "
            f"+ {self.seconds:g} s; relay {self.relay_rows:,} rows per phase, at most "
            f"{self.max_seconds:g} s"
            + (f"; soak {self.soak_minutes:g} min at {self.rate:,.0f}/s" if self.soak else ""),
            "**Service settings**: the defaults (prefetch 32, pool 10 + 5, group commit of up "
            "to 32 messages in 4 transactions, relay batch 500 in 64 lanes, 4 partitions, "
            f"{self.log_level} JSON logs, no trace exporter) except argon2id at 8 KiB, 1 pass, "
            "1 lane: the bench measures the messaging pipeline, not password hashing",
        ]


@dataclass
class _Context:
    options: Options
    endpoints: Endpoints
    results: Results
    progress: Progress

    def common(self, transport: str, address: str) -> dict[str, Any]:
        return {
            "admin_url": self.endpoints.postgres_admin_url,
            "broker_address": address,
            "tansu": transport == "kafka" and self.endpoints.kafka_bootstrap is None,
            "log_dir": self.options.log_dir,
            "log_level": self.options.log_level,
        }


def _scenario(
    ctx: _Context, scenario: Scenario, transport: str, address: str, advance: Advance
) -> tuple[int, Coroutine[Any, Any, Figures]]:
    """(expected progress total, the coroutine) of one scenario run."""
    o, common = ctx.options, ctx.common(transport, address)
    admin = ctx.endpoints.postgres_admin_url
    if scenario is Scenario.RAW:
        return o.raw_messages, run_raw(transport, address, o.raw_messages, advance)
    if scenario is Scenario.NAIVE:
        naive = run_naive(
            transport, address, admin, count=o.commands, max_seconds=o.max_seconds, progress=advance
        )
        return o.commands, naive
    if scenario is Scenario.PIPELINE:
        pipeline = run_pipeline(
            transport, count=o.commands, max_seconds=o.max_seconds, progress=advance, **common
        )
        return o.commands, pipeline
    if scenario is Scenario.LATENCY:
        total = round(o.rate * (o.warmup + o.seconds))
        latency = run_latency(
            transport,
            per_second=o.rate,
            seconds=o.seconds,
            warmup=o.warmup,
            progress=advance,
            **common,
        )
        return total, latency
    relay = run_relay(
        transport, rows=o.relay_rows, max_seconds=o.max_seconds, progress=advance, **common
    )
    return 2 * o.relay_rows, relay


@contextlib.contextmanager
def _broker(ctx: _Context, transport: str) -> Iterator[str]:
    if transport == "rabbit":
        yield ctx.endpoints.rabbit_url
    else:
        with kafka_broker(ctx.endpoints.kafka_bootstrap) as bootstrap:
            yield bootstrap


async def _measure(
    ctx: _Context,
    label: str,
    key: tuple[str, str],
    start: Callable[[Advance], tuple[int, Coroutine[Any, Any, Figures]]],
) -> Figures | None:
    """Run one measurement under its own progress bar; record it or note its failure."""
    task = ctx.progress.add_task(label, total=None)
    began = time.monotonic()
    total, coroutine = start(lambda n: ctx.progress.advance(task, n))
    ctx.progress.update(task, total=total)
    try:
        figures = await coroutine
    except Exception as error:
        first_line = (str(error).strip().splitlines() or [""])[0]
        ctx.results.notes.append(f"{label} failed: {type(error).__name__}: {first_line}"[:240])
        with (ctx.options.log_dir / "failures.log").open("a") as log:
            log.write(f"== {label}\n{traceback.format_exc()}\n")
        return None
    finally:
        ctx.progress.remove_task(task)
        ctx.results.timings[label] = round(time.monotonic() - began, 1)
    ctx.results.record(*key, figures)
    return figures


async def run_all(
    options: Options, endpoints: Endpoints, console: Console
) -> tuple[Results, list[tuple[Profile, float]]]:
    """Every run of every scenario, then the profiled run and the soak if asked."""
    results = Results()
    columns = (
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    profiles: list[tuple[Profile, float]] = []
    with Progress(*columns, console=console) as progress:
        ctx = _Context(options, endpoints, results, progress)
        steps = options.runs * len(options.transports) * len(options.scenarios)
        steps += int(options.profile) + (len(options.transports) if options.soak else 0)
        overall = progress.add_task("[bold]benchmark", total=steps)
        for run in range(1, options.runs + 1):
            for transport in options.transports:
                with _broker(ctx, transport) as address:
                    for scenario in options.scenarios:
                        label = f"run {run}/{options.runs} {transport} {scenario}"
                        await _measure(
                            ctx,
                            label,
                            (transport, scenario),
                            lambda advance, s=scenario, a=address, t=transport: _scenario(
                                ctx, s, t, a, advance
                            ),
                        )
                        progress.advance(overall)
        if options.profile:
            profiles = await _profiled_run(ctx)
            progress.advance(overall)
        if options.soak:
            for transport in options.transports:
                with _broker(ctx, transport) as address:
                    await _measure(
                        ctx,
                        f"soak {transport} ({options.soak_minutes:g} min)",
                        (transport, "soak"),
                        lambda advance, t=transport, a=address: _soak(ctx, t, a, advance),
                    )
                progress.advance(overall)
    return results, profiles


def _soak(
    ctx: _Context, transport: str, address: str, advance: Advance
) -> tuple[int, Coroutine[Any, Any, Figures]]:
    o = ctx.options
    soak = run_soak(
        transport,
        per_second=o.rate,
        minutes=o.soak_minutes,
        progress=advance,
        **ctx.common(transport, address),
    )
    return round(o.rate * o.soak_minutes * 60), soak


async def _profiled_run(ctx: _Context) -> list[tuple[Profile, float]]:
    """One extra pipeline run with py-spy on worker and relay (its figures kept apart)."""
    transport = ctx.options.transports[0]
    directory = ctx.options.log_dir / "profile"
    scratch = Results()
    with _broker(ctx, transport) as address:
        task_ctx = _Context(ctx.options, ctx.endpoints, scratch, ctx.progress)
        started = time.monotonic()
        figures = await _measure(
            task_ctx,
            f"profiled {transport} pipeline (py-spy)",
            (transport, "profiled pipeline"),
            lambda advance: (
                ctx.options.commands,
                run_pipeline(
                    transport,
                    count=ctx.options.commands,
                    max_seconds=ctx.options.max_seconds,
                    progress=advance,
                    profile_dir=directory,
                    **ctx.common(transport, address),
                ),
            ),
        )
    ctx.results.notes += scratch.notes
    ctx.results.timings.update(scratch.timings)
    if figures is None:
        return []
    values = {name: value for name, _, value in figures}
    ctx.results.notes.append(
        f"profiled {transport} pipeline run (py-spy attached, {time.monotonic() - started:.0f} s):"
        f" {values['commands']:,.0f} commands/s, worker {values['worker CPU']:,.0f} µs CPU per"
        f" handled message, relay {values['relay CPU']:,.0f} µs per event"
    )
    return [
        (
            summarize("worker", directory / f"{transport}-worker.collapsed.txt"),
            values["worker CPU"],
        ),
        (summarize("relay", directory / f"{transport}-relay.collapsed.txt"), values["relay CPU"]),
    ]
