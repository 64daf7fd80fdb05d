"""The benchmark harness' own arithmetic and reporting (fast; part of ``make test``)."""

import math
from pathlib import Path

import pytest
from scripts.bench.latency import latency_figures
from scripts.bench.markdown import BEGIN, END, render_block, update_docs
from scripts.bench.messages import Command
from scripts.bench.profiling import LOOP, summarize
from scripts.bench.report import evaluate_targets, format_value, json_safe, ratios
from scripts.bench.soak import rss_drift
from scripts.bench.stats import Results, percentile, rate

pytestmark = pytest.mark.unit

MACHINE = {
    "cpu": "Test CPU",
    "cpus": 2,
    "memory_gib": 4.0,
    "kernel": "6.0",
    "python": "3.12",
    "load_average_at_start": "0.00 0.00 0.00",
    "postgresql": "15",
    "rabbitmq": "3.10",
    "tansu": "v0",
    "packages": {"faststream": "0.7"},
}


def _results() -> Results:
    results = Results()
    for commands, raw, naive in (
        (900.0, 3000.0, 600.0),
        (1000.0, 4000.0, 500.0),
        (1100.0, 5000.0, 400.0),
    ):
        results.record("rabbit", "pipeline", [("commands", "cmd/s", commands)])
        results.record("rabbit", "raw", [("e2e", "msg/s", raw)])
        results.record("rabbit", "naive", [("commands", "cmd/s", naive)])
    return results


def test_percentile_interpolates_and_treats_never_as_infinitely_late() -> None:
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([5.0], 0.99) == 5.0
    assert math.isnan(percentile([], 0.5))
    values = [float(v) for v in range(99)] + [math.inf]
    assert percentile(values, 0.5) == 49.5
    assert math.isinf(percentile(values, 0.999))


def test_rate_counts_intervals_between_first_and_last() -> None:
    assert rate(11, 100.0, 102.0) == 5.0
    assert math.isnan(rate(1, 100.0, 100.0))


def test_figures_keep_median_and_spread_and_failed_runs_out() -> None:
    results = _results()
    results.record("rabbit", "pipeline", [("commands", "cmd/s", math.nan)])
    figure = results.figures["rabbit.pipeline.commands"]
    assert (figure.median, figure.low, figure.high) == (1000.0, 900.0, 1100.0)
    assert figure.as_json()["runs"] == [900.0, 1000.0, 1100.0, None]


def test_ratios_and_targets_use_the_medians_of_the_same_invocation() -> None:
    results = _results()
    assert ratios(results) == {"rabbit: pipeline/raw": 0.25, "rabbit: pipeline/naive": 2.0}
    verdicts = {row["target"]: row["verdict"] for row in evaluate_targets(results, ["rabbit"])}
    assert verdicts["pipeline ≥ 2,500 commands/s"] == "missed"
    assert verdicts["pipeline ≥ 2.5x naive"] == "missed"
    assert verdicts["relay ≥ 10,000 events/s, one replica"] == "not measured"


def test_values_are_shown_and_stored_without_nan_or_infinity() -> None:
    assert format_value(12345.6) == "12,346"
    assert format_value(math.inf) == "∞"
    assert format_value(math.nan) == "-"
    assert json_safe({"a": [math.nan, math.inf, 1.23456]}) == {"a": [None, "inf", 1.235]}


def test_latency_counts_a_missing_event_as_infinitely_late() -> None:
    commands = [Command(id=str(n), time=100.0 + n, body=b"", headers={}, key="") for n in range(4)]
    rows = {str(n): (100.0 + n + 0.010, 100.0 + n + 0.012) for n in range(4)}
    arrivals = {str(n): 100.0 + n + 0.030 for n in range(3)}
    figures = {name: value for name, _, value in latency_figures(commands, rows, arrivals)}
    assert figures["command→commit p50"] == pytest.approx(10.0)
    assert figures["commit→published p50"] == pytest.approx(20.0)
    assert math.isinf(figures["command→event p99"])
    assert figures["events missing"] == 1.0


def test_rss_drift_compares_the_minute_after_warm_up_with_the_last() -> None:
    samples = [(float(t), 100.0 if t < 300 else 110.0) for t in range(0, 600, 5)]
    baseline, end, peak, drift = rss_drift(samples)
    assert (baseline, end, peak) == (100.0, 110.0, 110.0)
    assert drift == pytest.approx(10.0)


def test_profile_attributes_samples_to_the_innermost_library_and_drops_waits(
    tmp_path: Path,
) -> None:
    site = "/venv/lib/python3.12/site-packages"
    stdlib = "/usr/lib/python3.12"
    collapsed = tmp_path / "worker.txt"
    loop = f"run ({stdlib}/asyncio/base_events.py:1)"
    collapsed.write_text(
        f"{loop};execute ({site}/sqlalchemy/engine/base.py:2);dumps ({stdlib}/json/x.py:3) 30\n"
        f"{loop};Service.execute (/repo/src/commerce/bootstrap/service.py:9)"
        f";hash ({site}/argon2/_password_hasher.py:4) 10\n"
        f"{loop};EpollSelector.select ({stdlib}/selectors.py:5) 60\n"
    )
    profile = summarize("worker", collapsed)
    assert (profile.samples, profile.idle) == (40, 60)
    assert profile.groups["SQLAlchemy"] == 30
    assert profile.groups["argon2 (password hash)"] == 10
    assert profile.markers["RegisterUser handler (Service.execute)"] == 10


def test_profile_gives_uvloops_own_work_to_the_loop_not_to_the_caller_of_asyncio_run(
    tmp_path: Path,
) -> None:
    """Under uvloop the loop is C code: its samples end in ``Runner.run``, whose caller is
    our entry point; they are the loop's (socket I/O), not our code's."""
    stdlib = "/usr/lib/python3.12"
    collapsed = tmp_path / "relay.txt"
    collapsed.write_text(
        "_run (/repo/src/commerce/entrypoints/cli/main.py:1)"
        f";run ({stdlib}/asyncio/runners.py:2);Runner.run ({stdlib}/asyncio/runners.py:3) 7\n"
    )
    profile = summarize("relay", collapsed)
    assert profile.groups == {LOOP: 7}


def test_the_generated_block_replaces_only_itself(tmp_path: Path) -> None:
    docs = tmp_path / "performance.md"
    docs.write_text(
        f"# Performance\n\nmine\n\n{BEGIN}\nold\n{END}\n\n## Projection rebuild\n\ntheirs\n"
    )
    block = render_block(
        results=_results(),
        machine=MACHINE,
        transports=["rabbit"],
        command="python -m scripts.bench",
        started="2026-01-01 00:00 UTC",
        duration=600.0,
        settings=["**Runs**: 3"],
        profiles=[],
    )
    update_docs(docs, block)
    text = docs.read_text()
    assert "mine" in text
    assert "## Projection rebuild\n\ntheirs" in text
    assert "old" not in text
    assert "rabbit: pipeline/naive = **2.00**" in text
    assert text.count(BEGIN) == 1


def test_a_file_without_the_markers_gets_the_block_appended(tmp_path: Path) -> None:
    docs = tmp_path / "performance.md"
    docs.write_text("# Performance\n\n## Projection rebuild\n")
    update_docs(docs, f"{BEGIN}\nnew\n{END}\n")
    assert docs.read_text() == f"# Performance\n\n## Projection rebuild\n\n{BEGIN}\nnew\n{END}\n"
