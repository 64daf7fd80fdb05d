"""``commerce dlq`` as an operator runs it: a process reading ``COMMERCE_*`` variables.

Every command and option is covered in-process by
``tests/entrypoints/cli/test_dlq.py``; this checks the installed entry point.
"""

import json
import os
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from uuid import uuid4

import pytest

from commerce.platform.messaging.envelope import HeaderStyle
from tests.support.database import ProvisionedDatabase
from tests.support.dead_letters import dead_letter_of, park, register_user_body
from tests.support.terminal import run_on_terminal
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.e2e

COMMERCE = str(Path(sys.executable).parent / "commerce")


def _run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    return subprocess.run(
        [COMMERCE, "dlq", *args],
        env=base | env,
        cwd=cwd,  # outside the repository: no .env
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


async def test_list_as_json_and_an_unknown_id(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    env = environment_for(settings_for(provisioned_database, rabbit_url))
    consumer = f"tests.e2e-{uuid4().hex[:8]}"
    record = dead_letter_of(register_user_body(), style=HeaderStyle.RABBIT, subject="k")
    letter_id = await park(provisioned_database, replace(record, consumer=consumer))

    listed = _run(env, tmp_path, "list", "--consumer", consumer, "--json")
    assert listed.returncode == 0, listed.stderr
    [item] = json.loads(listed.stdout)
    assert item["id"] == letter_id
    assert item["message_id"] == record.message_id

    missing = _run(env, tmp_path, "show", "999999999")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "error: no dead letter with id 999999999"


async def test_replay_shows_its_progress_on_a_terminal(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    env = environment_for(settings_for(provisioned_database, rabbit_url))
    consumer = f"tests.e2e-{uuid4().hex[:8]}"
    letters = 5
    for _ in range(letters):
        record = dead_letter_of(register_user_body(), style=HeaderStyle.RABBIT, subject="k")
        await park(provisioned_database, replace(record, consumer=consumer))

    code, stdout, terminal = run_on_terminal(env, tmp_path, "dlq", "replay", "--consumer", consumer)

    assert code == 0, terminal
    assert f"replayed {letters} dead letters" in stdout
    bars = re.findall(r"replaying\s+\[([#-]+)\]\s+(\d+)%", terminal)
    percents = [int(percent) for _, percent in bars]
    assert percents == sorted(percents), "the bar only moves forward"
    assert set(percents) == {100 * done // letters for done in range(letters + 1)}, (
        "one step per dead letter, from 0 % to 100 %"
    )
    assert all(set(bar) == {"#"} for bar, percent in bars if percent == 100)
