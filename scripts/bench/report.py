"""Ratios, targets and the terminal report (rich tables; ratios printed last)."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table
from scripts.bench.stats import Figure, Results

__all__ = [
    "TARGETS",
    "Target",
    "evaluate_targets",
    "format_value",
    "json_safe",
    "print_report",
    "ratios",
]

TRANSPORTS = ("rabbit", "kafka")


def ratios(results: Results) -> dict[str, float]:
    """pipeline/raw and pipeline/naive per transport, from the medians of this run."""
    found: dict[str, float] = {}
    for transport in TRANSPORTS:
        pipeline = results.median(f"{transport}.pipeline.commands")
        for other, key in (("raw", "raw.e2e"), ("naive", "naive.commands")):
            value = pipeline / results.median(f"{transport}.{key}")
            if not math.isnan(value):
                found[f"{transport}: pipeline/{other}"] = value
    return found


@dataclass(frozen=True)
class Target:
    """A target of issue #6, reported against (never asserted)."""

    label: str
    unit: str
    value: Callable[[Results, str], float]
    met: Callable[[float], bool]


def _figure(name: str) -> Callable[[Results, str], float]:
    return lambda results, transport: results.median(f"{transport}.{name}")


def _ratio(name: str) -> Callable[[Results, str], float]:
    return lambda results, transport: ratios(results).get(f"{transport}: {name}", math.nan)


def _worst_drift(results: Results, transport: str) -> float:
    drifts = [results.median(f"{transport}.soak.{p} RSS drift") for p in ("worker", "relay")]
    return max((abs(d) for d in drifts if not math.isnan(d)), default=math.nan)


TARGETS = (
    Target(
        "pipeline ≥ 2,500 commands/s", "cmd/s", _figure("pipeline.commands"), lambda v: v >= 2500
    ),
    Target("pipeline ≥ 50 % of raw", "x", _ratio("pipeline/raw"), lambda v: v >= 0.5),
    Target("pipeline ≥ 2.5x naive", "x", _ratio("pipeline/naive"), lambda v: v >= 2.5),
    Target(
        "projection lag p99 ≤ 1 s at the sustained rate",
        "ms",
        _figure("pipeline.projection lag p99"),
        lambda v: v <= 1000,
    ),
    Target(
        "commit→publish p99 ≤ 50 ms at the offered load",
        "ms",
        _figure("latency.commit→published p99"),
        lambda v: v <= 50,
    ),
    Target(
        "command→event p99 ≤ 100 ms at the offered load",
        "ms",
        _figure("latency.command→event p99"),
        lambda v: v <= 100,
    ),
    Target(
        "relay ≥ 10,000 events/s, one replica",
        "ev/s",
        _figure("relay.1 replica"),
        lambda v: v >= 10_000,
    ),
    Target("RSS flat ±10 % over the soak", "% (worst)", _worst_drift, lambda v: v <= 10),
)


def evaluate_targets(results: Results, transports: list[str]) -> list[dict[str, Any]]:
    """Each target per transport: value and met / missed / not measured."""
    rows = []
    for target in TARGETS:
        for transport in transports:
            value = target.value(results, transport)
            verdict = (
                "not measured" if math.isnan(value) else ("met" if target.met(value) else "missed")
            )
            rows.append(
                {
                    "target": target.label,
                    "transport": transport,
                    "value": value,
                    "unit": target.unit,
                    "verdict": verdict,
                }
            )
    return rows


def json_safe(value: Any) -> Any:
    """``value`` with NaN as ``null`` and infinity as ``"inf"``, floats rounded."""
    if isinstance(value, float):
        if math.isnan(value):
            return None
        return "inf" if math.isinf(value) else round(value, 3)
    if isinstance(value, dict):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    return value


def format_value(value: float | None) -> str:
    """A figure for people: thousands separated, ∞ for never, - for not measured."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if math.isinf(value):
        return "∞"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _spread(figure: Figure) -> str:
    return f"{format_value(figure.low)}..{format_value(figure.high)}"


def print_report(
    console: Console,
    results: Results,
    machine: dict[str, Any],
    transports: list[str],
) -> None:
    """Machine, figures table, targets, notes; the ratios last."""
    packages = ", ".join(f"{k} {v}" for k, v in machine["packages"].items())
    console.rule("commerce benchmark")
    console.print(
        f"[bold]{machine['cpu']}[/], {machine['cpus']} CPUs, {machine['memory_gib']} GiB, "
        f"Linux {machine['kernel']}, Python {machine['python']}; load at start "
        f"{machine['load_average_at_start']}"
    )
    console.print(
        f"PostgreSQL {machine['postgresql']}, RabbitMQ {machine['rabbitmq']}, "
        f"Tansu {machine['tansu']}"
    )
    console.print(packages, style="dim")
    table = Table(title="Figures (median of the runs, min..max)", show_lines=False)
    for column in ("transport", "scenario", "figure", "median", "min..max", "unit", "runs"):
        table.add_column(column, justify="right" if column in ("median", "runs") else "left")
    for figure in results.figures.values():
        table.add_row(
            figure.transport,
            figure.scenario,
            figure.name,
            format_value(figure.median),
            _spread(figure),
            figure.unit,
            str(len(figure.finite)),
        )
    console.print(table)
    targets = Table(title="Targets (reported, not asserted)")
    for column in ("target", "transport", "value", "unit", "verdict"):
        targets.add_column(column)
    style = {"met": "green", "missed": "red", "not measured": "dim"}
    for row in evaluate_targets(results, transports):
        targets.add_row(
            row["target"],
            row["transport"],
            format_value(row["value"]),
            row["unit"],
            f"[{style[row['verdict']]}]{row['verdict']}[/]",
        )
    console.print(targets)
    for note in results.notes:
        console.print(f"note: {note}", style="yellow")
    console.rule("ratios")
    for name, value in ratios(results).items():
        console.print(f"{name} = [bold]{value:.2f}[/]")
