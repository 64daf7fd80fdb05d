"""``promtool check metrics``: lint a Prometheus text exposition as Prometheus itself would.

promtool comes from Debian's ``prometheus`` package; ``scripts/services.sh`` installs it
(in CI, as root). Without it a test fails under CI and skips elsewhere.
"""

import shutil
import subprocess
from typing import Any

import pytest

from tests.support.services import in_ci

__all__ = ["promtool", "promtool_check_metrics", "promtool_run", "without_descriptions"]


def promtool() -> str:
    """The ``promtool`` executable; without it the test fails under CI and skips elsewhere."""
    found = shutil.which("promtool")
    if found is None:
        reason = (
            "promtool is not installed "
            "(scripts/services.sh installs it: apt-get install prometheus)"
        )
        if in_ci():
            pytest.fail(f"CI is set, so {reason}", pytrace=False)
        pytest.skip(reason)
    return found


def promtool_check_metrics(exposition: bytes) -> str:
    """Run ``promtool check metrics`` on ``exposition``; returns its findings ("" = clean)."""
    result = subprocess.run(
        [promtool(), "check", "metrics"],
        input=exposition,
        capture_output=True,
        timeout=60,
        check=False,
    )
    findings = (result.stdout + result.stderr).decode().strip()
    assert result.returncode == 0, f"promtool check metrics failed:\n{findings}"
    return findings


def promtool_run(*arguments: str) -> str:
    """Run ``promtool arguments``; the test fails unless it exits 0. Returns its output."""
    result = subprocess.run(
        [promtool(), *arguments], capture_output=True, text=True, timeout=60, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    return output


def without_descriptions(rules: dict[str, Any]) -> dict[str, Any]:
    """``rules`` (a parsed rule file) with only the summary annotation: ``promtool test
    rules`` compares every annotation, and the descriptions' prose is not what is tested."""
    for group in rules["groups"]:
        for rule in group["rules"]:
            rule.get("annotations", {}).pop("description", None)
    return rules
