"""The operator-signal alerts fire on their condition and stay silent otherwise.

For each rule ``promtool test rules`` evaluates made-up series, one sample a minute from
time 0: one that meets the condition long enough, and healthy ones that must never alert,
among them one just below the threshold (or above it for less than the rule's ``for``).
Series carry ``job`` and ``instance`` labels as scraped; the rules aggregate them away.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.support.paths import REPOSITORY
from tests.support.promtool import promtool_run, without_descriptions

pytestmark = pytest.mark.unit

RULES = REPOSITORY / "deployments/prometheus/commerce-alerts.yaml"
CONSUMER = "commerce.identity.register-user"
ORDERED = "commerce.projections.user-directory"


def _worker(metric: str, instance: str = "worker-1", **labels: str) -> str:
    pairs = {"job": "worker", "instance": instance, **labels}
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in pairs.items()) + "}"


@dataclass(frozen=True)
class Case:
    """Input series (selector: promtool's expanding notation) and, per evaluation time,
    the alert expected then (``None``: silent)."""

    series: dict[str, str]
    expected: dict[str, dict[str, str] | None]


def _suite(alert: str, summary: str, labels: dict[str, str], cases: list[Case]) -> list[Any]:
    return [
        {
            "interval": "1m",
            "input_series": [{"series": s, "values": v} for s, v in case.series.items()],
            "alert_rule_test": [
                {
                    "eval_time": at,
                    "alertname": alert,
                    "exp_alerts": (
                        []
                        if extra is None
                        else [
                            {
                                "exp_labels": labels | extra,
                                "exp_annotations": {"summary": summary},
                            }
                        ]
                    ),
                }
                for at, extra in case.expected.items()
            ],
        }
        for case in cases
    ]


FIRES: dict[str, str] = {}  # an alert with no labels of its own beyond its severity

ALERTS: dict[str, tuple[str, dict[str, str], list[Case]]] = {
    "CommerceOutboxStuck": (
        "The outbox has unpublished events older than a minute",
        {"severity": "critical"},
        [
            Case(  # the relay stops publishing: the oldest row ages a minute a minute
                {_worker("commerce_outbox_oldest_unsent_age_seconds", job="relay"): "0+60x10"},
                {"1m": None, "3m": None, "4m": FIRES, "8m": FIRES},
            ),
            Case(  # exactly at the threshold for long: silent
                {_worker("commerce_outbox_oldest_unsent_age_seconds"): "60x10"},
                {"5m": None, "10m": None},
            ),
            Case(  # spikes above it that never last two minutes
                {_worker("commerce_outbox_oldest_unsent_age_seconds"): "0 90 0 90 0 90 0 90"},
                {"2m": None, "3m": None, "5m": None, "7m": None},
            ),
        ],
    ),
    "CommerceDeadLettersGrowing": (
        f"New dead letters of {CONSUMER} wait for an operator",
        {"severity": "warning"},
        [
            Case(  # a first dead letter at minute 3, a second at 20; two workers report it
                {
                    _worker("commerce_dead_letters_unresolved", consumer=CONSUMER): (
                        "0x2 1x16 2x5"
                    ),
                    _worker("commerce_dead_letters_unresolved", "worker-2", consumer=CONSUMER): (
                        "0x2 1x16 2x5"
                    ),
                },
                {
                    "2m": None,
                    "3m": {"consumer": CONSUMER},
                    "17m": {"consumer": CONSUMER},
                    "19m": None,
                    "20m": {"consumer": CONSUMER},
                },
            ),
            Case(  # many, but no more than before; then an operator resolves some
                {_worker("commerce_dead_letters_unresolved", consumer=CONSUMER): "5x10 3x10"},
                {"5m": None, "12m": None, "20m": None},
            ),
            Case(  # a worker (re)starts and reports letters archived long ago
                {_worker("commerce_dead_letters_unresolved", consumer=CONSUMER): "_x5 4x10"},
                {"5m": None, "6m": None, "15m": None},
            ),
        ],
    ),
    "CommerceAggregateHeldTooLong": (
        f"{ORDERED} has held an aggregate for over 15 minutes",
        {"severity": "warning"},
        [
            Case(  # a hold ages a minute a minute: over 900 s from minute 16
                {_worker("commerce_parked_holds_oldest_age_seconds", consumer=ORDERED): "0+60x25"},
                {"16m": None, "17m": None, "18m": {"consumer": ORDERED}},
            ),
            Case(  # held exactly 15 minutes, for long: silent
                {_worker("commerce_parked_holds_oldest_age_seconds", consumer=ORDERED): "900x20"},
                {"10m": None, "20m": None},
            ),
            Case(  # holds that end within retry schedules
                {_worker("commerce_parked_holds_oldest_age_seconds", consumer=ORDERED): "0 60 0"},
                {"1m": None, "2m": None},
            ),
        ],
    ),
    "CommerceParkedMessagesPilingUp": (
        f"Over 1000 events are parked behind {ORDERED}'s holds",
        {"severity": "warning"},
        [
            Case(
                {_worker("commerce_parked_holds_messages", consumer=ORDERED): "1001x15"},
                {"9m": None, "10m": {"consumer": ORDERED}},
            ),
            Case(  # exactly 1000, for long
                {_worker("commerce_parked_holds_messages", consumer=ORDERED): "1000x15"},
                {"10m": None, "15m": None},
            ),
            Case(  # a burst released within nine minutes
                {_worker("commerce_parked_holds_messages", consumer=ORDERED): "5000x8 0x7"},
                {"8m": None, "10m": None, "15m": None},
            ),
        ],
    ),
    "CommerceConsumerPaused": (
        f"Consumer {CONSUMER} has been paused for over 2 minutes",
        {"severity": "critical"},
        [
            Case(  # paused in one worker of two, running in the other
                {
                    _worker("commerce_consumer_state", consumer=CONSUMER): "2x5",
                    _worker("commerce_consumer_state", "worker-2", consumer=CONSUMER): "0x5",
                },
                {"1m": None, "2m": {"consumer": CONSUMER}, "5m": {"consumer": CONSUMER}},
            ),
            Case(  # paused for one minute, then running again
                {_worker("commerce_consumer_state", consumer=CONSUMER): "0 2 2 0 0 0"},
                {"2m": None, "3m": None, "5m": None},
            ),
            Case(  # recovering (reduced concurrency) for long
                {_worker("commerce_consumer_state", consumer=CONSUMER): "1x10"},
                {"5m": None, "10m": None},
            ),
        ],
    ),
    "CommerceCircuitBreakerOpen": (
        "The circuit breaker of postgres has been open for over 2 minutes",
        {"severity": "warning"},
        [
            Case(
                {_worker("commerce_circuit_breaker_state", dependency="postgres"): "0 2x5"},
                {"2m": None, "3m": {"dependency": "postgres"}},
            ),
            Case(  # open a minute, half-open, closed
                {_worker("commerce_circuit_breaker_state", dependency="postgres"): "2 2 1 0 0"},
                {"1m": None, "2m": None, "4m": None},
            ),
            Case(  # half-open for long
                {_worker("commerce_circuit_breaker_state", dependency="postgres"): "1x10"},
                {"5m": None, "10m": None},
            ),
        ],
    ),
    "CommerceCacheDegraded": (
        "Cache user-directory has answered without Redis for over 5 minutes",
        {"severity": "warning"},
        [
            Case(
                {_worker("commerce_cache_degraded", cache="user-directory"): "1x10"},
                {"4m": None, "5m": {"cache": "user-directory"}},
            ),
            Case(  # four minutes without Redis, then back
                {_worker("commerce_cache_degraded", cache="user-directory"): "1x4 0x6"},
                {"4m": None, "5m": None, "10m": None},
            ),
            Case(
                {_worker("commerce_cache_degraded", cache="user-directory"): "0x10"},
                {"5m": None, "10m": None},
            ),
        ],
    ),
}


@pytest.mark.parametrize("alert", sorted(ALERTS))
def test_the_alert_fires_on_its_condition_and_stays_silent_otherwise(
    alert: str, tmp_path: Path
) -> None:
    summary, labels, cases = ALERTS[alert]
    assert any(value is not None for case in cases for value in case.expected.values())
    assert any(value is None for case in cases for value in case.expected.values())
    rules = tmp_path / "rules.yaml"
    rules.write_text(yaml.safe_dump(without_descriptions(yaml.safe_load(RULES.read_text()))))
    suite = tmp_path / "tests.yaml"
    suite.write_text(
        yaml.safe_dump(
            {
                "rule_files": [str(rules)],
                "evaluation_interval": "1m",
                "tests": _suite(alert, summary, labels, cases),
            }
        )
    )
    assert "SUCCESS" in promtool_run("test", "rules", str(suite))


def test_every_operator_signal_rule_is_tested_and_has_a_severity_and_summary() -> None:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    [signals] = [group for group in groups if group["name"] == "commerce-operator-signals"]
    rules = {rule["alert"]: rule for rule in signals["rules"]}
    assert set(rules) == set(ALERTS)
    for rule in rules.values():
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert rule["annotations"]["summary"]
        assert rule["annotations"]["description"]


@pytest.mark.parametrize("document", ["README.md", "docs/adr/0022-operator-signals.md"])
def test_the_operators_docs_list_every_alert(document: str) -> None:
    text = (REPOSITORY / document).read_text()
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if group["name"] == "commerce-operator-signals"
    }
    assert {alert for alert in alerts if f"`{alert}`" not in text} == set()
