"""``make bench`` end to end at smoke-test size (opt-in: ``pytest -m performance``).

Runs the harness as ``make bench`` does, with ``--quick`` (one run, small counts) and
no profile, then checks that every scenario produced its figures and the ratios.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.paths import REPOSITORY

pytestmark = pytest.mark.performance


@pytest.mark.timeout(900)
@pytest.mark.parametrize("transport", ["rabbit", "kafka"])
def test_the_harness_measures_every_scenario(transport: str, tmp_path: Path) -> None:
    out, docs = tmp_path / "bench.json", tmp_path / "performance.md"
    command = [sys.executable, "-m", "scripts.bench", "--quick", "--no-profile"]
    command += ["--transport", transport, "--out", str(out), "--docs", str(docs)]
    finished = subprocess.run(
        command, cwd=REPOSITORY, capture_output=True, text=True, timeout=800, check=False
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert f"{transport}: pipeline/naive" in finished.stdout.split("ratios")[-1]
    result = json.loads(out.read_text())
    scenarios = {figure["scenario"] for figure in result["figures"]}
    assert scenarios == {"raw", "naive", "pipeline", "latency", "relay"}, result["notes"]
    assert {f"{transport}: pipeline/raw", f"{transport}: pipeline/naive"} <= result["ratios"].keys()
    pipeline = {f["name"] for f in result["figures"] if f["scenario"] == "pipeline"}
    fair = {"projection lag p99", "messages/command", "CPU all", "RegisterUser commands"}
    assert fair | {"argon2 default", "argon2 bench"} <= pipeline, sorted(pipeline)
    text = docs.read_text()
    assert "## Results" in text
    assert "| projection lag p99 |" in text
