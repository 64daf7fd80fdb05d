"""The Grafana dashboard queries only metrics the service exposes, in valid PromQL, with a
panel for every metric of ours (the operator signals' included), and names each state of
a kill switch or circuit breaker as the code numbers it."""

import json
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml

from commerce.platform.observability.metrics_resilience import BREAKER_STATES, CONSUMER_STATES
from tests.support.exposed_metrics import exposed_metric_names
from tests.support.paths import REPOSITORY
from tests.support.promtool import promtool

pytestmark = pytest.mark.unit

DASHBOARD = REPOSITORY / "deployments/grafana/commerce-dashboard.json"
_METRIC = re.compile(r"\b((?:commerce|faststream|process)_[a-z_]+)\b")
_SUFFIXES = ("_bucket", "_count", "_sum")


def _expressions() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    found = [
        target["expr"]
        for panel in dashboard["panels"]
        for target in panel.get("targets", [])
        if "expr" in target
    ]
    for variable in dashboard["templating"]["list"]:
        if isinstance(variable.get("query"), dict):
            found.append(variable["query"]["query"].split("(", 1)[1].split(",")[0])
    return found


def test_every_panel_queries_an_exposed_metric() -> None:
    exposed = exposed_metric_names()
    expressions = _expressions()
    assert len(expressions) >= 20
    used = {name for expr in expressions for name in _METRIC.findall(expr)}
    unknown = {
        name
        for name in used
        if name not in exposed and not any(name.removesuffix(s) in exposed for s in _SUFFIXES)
    }
    assert not unknown, f"the dashboard queries metrics nobody exposes: {sorted(unknown)}"
    queried = used | {name.removesuffix(s) for name in used for s in _SUFFIXES}
    ours = {name for name in exposed if name.startswith("commerce_")}
    assert ours <= queried, f"metrics without a panel: {sorted(ours - queried)}"


def test_every_query_is_valid_promql(tmp_path: Path) -> None:
    queries = [
        expr.replace("$__rate_interval", "5m").replace("$job", ".*")
        for expr in _expressions()
        if "(" in expr or "{" in expr
    ]
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"dashboard:query_{n}", "expr": query}
                    for n, query in enumerate(queries)
                ],
            }
        ]
    }
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run(
        [promtool(), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("metric", ["commerce_retries_total", "commerce_dead_letters_total"])
def test_retries_and_dead_letters_are_shown_per_consumer_and_reason(metric: str) -> None:
    grouped = [
        {label.strip() for label in match.split(",")}
        for expr in _expressions()
        if metric in expr
        for match in re.findall(r"\bby \(([^)]*)\)", expr)
    ]
    assert grouped, f"no panel shows {metric}"
    assert all({"consumer", "reason"} <= labels for labels in grouped), grouped


def test_a_stalled_projection_has_a_panel_joining_relay_and_projection_by_stream() -> None:
    [stall] = [
        expr
        for expr in _expressions()
        if "commerce_relay_last_published_timestamp_seconds" in expr
        and "commerce_projection_last_applied_timestamp_seconds" in expr
    ]
    assert "on (stream)" in stall
    assert "on (stream, projection)" in stall


@pytest.mark.parametrize(
    ("metric", "states"),
    [
        ("commerce_consumer_state", CONSUMER_STATES),
        ("commerce_circuit_breaker_state", BREAKER_STATES),
    ],
)
def test_kill_switches_and_breakers_are_shown_by_the_names_of_their_states(
    metric: str, states: Mapping[str, int]
) -> None:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    [panel] = [
        panel
        for panel in dashboard["panels"]
        if any(metric in target.get("expr", "") for target in panel.get("targets", []))
    ]
    assert panel["type"] == "state-timeline"
    [mapping] = panel["fieldConfig"]["defaults"]["mappings"]
    shown = {int(value): option["text"] for value, option in mapping["options"].items()}
    assert shown == {value: name for name, value in states.items()}
