"""The Prometheus alert rules: valid, on metrics the service exposes, and firing when meant.

``promtool test rules`` evaluates the rules on made-up series: a projection that stops
while its stream keeps receiving events, one that stops just before the stream wakes up
from idle, and healthy projections, busy and idle, which must never alert.
"""

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.exposed_metrics import exposed_metric_names
from tests.support.paths import REPOSITORY
from tests.support.promtool import promtool_run, without_descriptions

pytestmark = pytest.mark.unit

RULES = REPOSITORY / "deployments/prometheus/commerce-alerts.yaml"
STREAM = "commerce.identity.user"
PROJECTION = "commerce.projections.user-directory"
_LABELS = {"severity": "warning", "stream": STREAM, "projection": PROJECTION}


def _scenario(published: str, applied: str, expected: dict[str, bool]) -> dict[str, Any]:
    """One promtool test: the relay's and the projection's timestamp series (one sample
    a minute, values in Unix seconds, evaluation starting at 0) and, per evaluation
    time, whether the stall alert fires."""
    relay = f'commerce_relay_last_published_timestamp_seconds{{job="relay",stream="{STREAM}"}}'
    projection = (
        "commerce_projection_last_applied_timestamp_seconds"
        f'{{job="worker",projection="{PROJECTION}",stream="{STREAM}"}}'
    )
    summary = f"Projection {PROJECTION} has stopped applying {STREAM} events"
    return {
        "interval": "1m",
        "input_series": [
            {"series": relay, "values": published},
            {"series": projection, "values": applied},
        ],
        "alert_rule_test": [
            {
                "eval_time": at,
                "alertname": "CommerceProjectionStalled",
                "exp_alerts": (
                    [{"exp_labels": _LABELS, "exp_annotations": {"summary": summary}}]
                    if fires
                    else []
                ),
            }
            for at, fires in expected.items()
        ],
    }


def test_the_rules_pass_promtool_check() -> None:
    assert "SUCCESS" in promtool_run("check", "rules", str(RULES))


def test_the_rules_query_only_exposed_metrics() -> None:
    exposed = exposed_metric_names()
    rules: dict[str, Any] = yaml.safe_load(RULES.read_text())
    queried = {
        name
        for group in rules["groups"]
        for rule in group["rules"]
        for name in re.findall(r"\bcommerce_[a-z_]+\b", rule["expr"])
    }
    assert queried, "the rules query our metrics"
    assert queried <= exposed, f"not exposed: {sorted(queried - exposed)}"


def test_the_adr_documents_the_stall_alert_as_it_is() -> None:
    adr = (REPOSITORY / "docs/adr/0010-observability.md").read_text()
    [documented] = re.findall(r"```promql\n(.*?)```", adr, re.DOTALL)
    [rule] = [
        rule["expr"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "CommerceProjectionStalled"
    ]
    assert documented.split() == rule.split()


def test_the_stall_alert_fires_on_stalls_and_only_on_stalls(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(without_descriptions(yaml.safe_load(RULES.read_text()))))
    tests = [
        # Events every minute; the projection stops after minute 5: nothing applied for
        # over 2 minutes from minute 8, held 1 minute.
        _scenario("0+60x30", "0+60x5 300x25", {"7m": False, "8m": False, "10m": True}),
        # Idle from minute 1 (last apply at 60 s); events again from minute 10, never
        # applied: stalled from minute 10 on, firing one minute later.
        _scenario("60x9 600+60x20", "60x30", {"9m": False, "10m": False, "11m": True}),
        # Healthy and busy: each event applied a second after it was published.
        _scenario("0+60x30", "1+60x30", {"10m": False, "20m": False}),
        # Healthy and idle: the relay recorded its batch a second after the projection
        # had applied the last event (within the 5 s allowance).
        _scenario("62x30", "61x30", {"10m": False, "30m": False}),
    ]
    suite = tmp_path / "tests.yaml"
    suite.write_text(
        yaml.safe_dump({"rule_files": [str(rules)], "evaluation_interval": "1m", "tests": tests})
    )
    assert "SUCCESS" in promtool_run("test", "rules", str(suite))
