"""``uv run python -m scripts.bench``: the command line of the benchmark harness."""

from __future__ import annotations

import asyncio
import json
import shlex
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from scripts.bench.infra import BenchError, find_endpoints
from scripts.bench.machine import describe_machine
from scripts.bench.markdown import render_block, update_docs
from scripts.bench.profiling import Profile
from scripts.bench.report import evaluate_targets, json_safe, print_report, ratios
from scripts.bench.runner import Options, Scenario, run_all
from scripts.bench.stats import Results

__all__ = ["app", "main"]

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)

ALL = [Scenario.RAW, Scenario.NAIVE, Scenario.PIPELINE, Scenario.LATENCY, Scenario.RELAY]


@dataclass
class _Outcome:
    results: Results
    profiles: list[tuple[Profile, float]]
    machine: dict[str, Any]
    started: datetime
    duration: float


async def _measure(options: Options, console: Console) -> _Outcome | None:
    try:
        endpoints = find_endpoints(kafka="kafka" in options.transports)
    except BenchError as error:
        console.print(f"[red]{error}[/]")
        return None
    machine = await describe_machine(
        postgres_url=endpoints.postgres_admin_url, rabbit_url=endpoints.rabbit_url
    )
    started, clock = datetime.now(UTC), time.monotonic()
    console.print(f"logs and profiles: {options.log_dir}", style="dim")
    results, profiles = await run_all(options, endpoints, console)
    return _Outcome(results, profiles, machine, started, time.monotonic() - clock)


def _write(
    outcome: _Outcome, options: Options, console: Console, *, out: Path | None, docs: Path | None
) -> None:
    """Print the report, then write the JSON and the Markdown block."""
    results, profiles, machine = outcome.results, outcome.profiles, outcome.machine
    print_report(console, results, machine, options.transports)
    console.print(
        f"\nthe benchmark took {outcome.duration / 60:.1f} min; logs in {options.log_dir}"
    )
    command = " ".join(["python -m scripts.bench", shlex.join(sys.argv[1:])]).strip()
    if out is not None:
        document: dict[str, object] = {
            "started": outcome.started.isoformat(),
            "duration_seconds": outcome.duration,
            "command": command,
            "machine": machine,
            "options": {k: str(v) for k, v in vars(options).items()},
            "figures": [figure.as_json() for figure in results.figures.values()],
            "ratios": ratios(results),
            "targets": evaluate_targets(results, options.transports),
            "profile": {p.process: p.as_json(cpu) for p, cpu in profiles},
            "notes": results.notes,
            "timings_seconds": results.timings,
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(json_safe(document), indent=2, ensure_ascii=False) + "\n")
        console.print(f"JSON: {out}")
    if docs is not None:
        block = render_block(
            results=results,
            machine=machine,
            transports=options.transports,
            command=command,
            started=outcome.started.strftime("%Y-%m-%d %H:%M UTC"),
            duration=outcome.duration,
            settings=options.settings_lines(),
            profiles=profiles,
        )
        update_docs(docs, block)
        console.print(f"Markdown: {docs}")


@app.command()
def bench(  # noqa: PLR0917 - typer reads the options from the signature
    scenario: Annotated[
        list[Scenario] | None,
        typer.Option("--scenario", "-s", help="Repeat to choose; default: all but soak."),
    ] = None,
    transport: Annotated[
        list[str] | None,
        typer.Option("--transport", "-t", help="rabbit and/or kafka (default: both)."),
    ] = None,
    runs: Annotated[int, typer.Option(min=1, help="Runs per figure (median, min-max).")] = 3,
    raw_messages: Annotated[int, typer.Option(min=100, help="Messages per raw run.")] = 20_000,
    commands: Annotated[
        int, typer.Option(min=100, help="Preloaded commands per naive/pipeline run.")
    ] = 10_000,
    max_seconds: Annotated[
        float, typer.Option(min=1, help="Time box of a naive/pipeline run and relay phase.")
    ] = 10.0,
    rate: Annotated[
        float, typer.Option(min=1, help="Offered load of latency and soak, commands/s.")
    ] = 1_000.0,
    seconds: Annotated[float, typer.Option(min=1, help="Measured seconds of latency.")] = 8.0,
    warmup: Annotated[float, typer.Option(min=0, help="Unmeasured first seconds.")] = 2.0,
    relay_rows: Annotated[int, typer.Option(min=100, help="Outbox rows per relay phase.")] = 20_000,
    soak: Annotated[bool, typer.Option(help="Also soak at --rate (per transport).")] = False,
    soak_minutes: Annotated[float, typer.Option(min=1, help="Length of the soak.")] = 10.0,
    profile: Annotated[bool, typer.Option(help="One extra pipeline run under py-spy.")] = True,
    quick: Annotated[
        bool, typer.Option(help="Smoke test: 1 run, small counts (overrides the sizes).")
    ] = False,
    log_level: Annotated[str, typer.Option(help="The service's log level.")] = "INFO",
    out: Annotated[Path | None, typer.Option(help="JSON results (empty: none).")] = Path(
        "docs/performance.json"
    ),
    docs: Annotated[Path | None, typer.Option(help="Markdown to update (empty: none).")] = Path(
        "docs/performance.md"
    ),
) -> None:
    """Measure raw transport, naive service, pipeline, latency and relay; print the table
    and the ratios pipeline/raw and pipeline/naive; write JSON and docs/performance.md."""
    transports = transport or ["rabbit", "kafka"]
    unknown = set(transports) - {"rabbit", "kafka"}
    if unknown:
        raise typer.BadParameter(f"unknown transport(s): {', '.join(sorted(unknown))}")
    options = Options(
        scenarios=scenario or list(ALL),
        transports=transports,
        runs=runs,
        raw_messages=raw_messages,
        commands=commands,
        max_seconds=max_seconds,
        rate=rate,
        seconds=seconds,
        warmup=warmup,
        relay_rows=relay_rows,
        soak=soak,
        soak_minutes=soak_minutes,
        profile=profile,
        log_level=log_level,
        log_dir=Path(tempfile.mkdtemp(prefix="commerce-bench-")),
    )
    if quick:
        options.runs, options.raw_messages, options.commands = 1, 2_000, 1_000
        options.max_seconds, options.seconds, options.warmup = 5.0, 3.0, 1.0
        options.relay_rows, options.rate, options.soak_minutes = 2_000, 200.0, 2.0
    console = Console(width=None if sys.stdout.isatty() else 150)
    outcome = asyncio.run(_measure(options, console))
    if outcome is None:
        raise typer.Exit(2)
    _write(outcome, options, console, out=_path(out), docs=_path(docs))
    raise typer.Exit(0 if outcome.results.figures else 1)


def _path(path: Path | None) -> Path | None:
    """``None`` for an empty option (``--out ''``)."""
    return None if path is None or str(path) in ("", ".") else path


def main() -> None:
    """Entry point of ``python -m scripts.bench``."""
    app()
