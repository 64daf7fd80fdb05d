"""``commerce dlq`` commands in-process (typer's CliRunner), on real Postgres and RabbitMQ.

The process-level behaviour (entry point, exit codes, stderr) is covered by
``test_dlq_entry_point.py``, next to this file; these tests cover every command and option
quickly.
"""

import asyncio
import json
from dataclasses import replace
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from typer.testing import CliRunner, Result

from commerce.entrypoints.cli import common
from commerce.entrypoints.cli.main import app
from commerce.platform.messaging.envelope import HeaderStyle
from tests.support.database import ProvisionedDatabase
from tests.support.dead_letters import dead_letter_of, park, register_user_body
from tests.support.worker import environment_for, settings_for

pytestmark = pytest.mark.integration

SECRET = "a secret password"


class Dlq:
    """``commerce dlq ...`` with one test's settings."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, input: str | None = None, **extra: str) -> Result:
        return CliRunner().invoke(app, ["dlq", *args], env=self.env | extra, input=input)


@pytest.fixture
def run(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, monkeypatch: pytest.MonkeyPatch
) -> Dlq:
    # Logging set-up would bind the root logger to the runner's captured stdout.
    monkeypatch.setattr(common, "configure_logging_from", lambda settings: None)
    return Dlq(environment_for(settings_for(provisioned_database, rabbit_url)))


def _park_two(database: ProvisionedDatabase) -> tuple[str, int, int]:
    consumer = f"tests.cli-{uuid4().hex[:8]}"
    base = dead_letter_of(
        register_user_body(password=SECRET), style=HeaderStyle.RABBIT, subject="k"
    )
    other = replace(base, message_id=str(uuid4()), reason="undecodable", body=b"\xff")

    async def both() -> tuple[int, int]:
        return (
            await park(database, replace(base, consumer=consumer)),
            await park(database, replace(other, consumer=consumer)),
        )

    first, second = asyncio.run(both())
    return consumer, first, second


def test_list_filters_and_formats(run: Dlq, provisioned_database: ProvisionedDatabase) -> None:
    consumer, first, second = _park_two(provisioned_database)

    listed = run("list", "--consumer", consumer)
    assert listed.exit_code == 0, listed.output
    header, *rows = listed.stdout.strip().splitlines()
    assert header.split()[:4] == ["ID", "CONSUMER", "REASON", "EXCEPTION"]
    assert header.split()[-1] == "STATUS"
    assert [row.split()[0] for row in rows] == [str(second), str(first)]
    assert any("ConnectionError" in row and "retries-exhausted" in row for row in rows)

    [item] = json.loads(
        run("list", "--consumer", consumer, "--reason", "undecodable", "--json").stdout
    )
    assert item["id"] == second
    assert item["status"] == "parked"
    assert json.loads(
        run("list", "--consumer", consumer, "--exception", "ConnectionError", "--json").stdout
    )[0]["id"] in (first, second)
    assert (
        json.loads(
            run("list", "--consumer", consumer, "--since", "1h", "--until", "1h", "--json").stdout
        )
        == []
    )
    assert (
        len(json.loads(run("list", "--consumer", consumer, "--limit", "1", "--json").stdout)) == 1
    )
    assert (
        json.loads(run("list", "--consumer", consumer, "--status", "replayed", "--json").stdout)
        == []
    )

    nothing = run("list", "--consumer", "nobody")
    assert nothing.exit_code == 0
    assert "no dead letters match" in nothing.stderr
    bad_time = run("list", "--since", "yesterday")
    assert bad_time.exit_code == 2
    assert "neither a duration" in bad_time.output


def test_show_masks_secrets_unless_revealed(
    run: Dlq, provisioned_database: ProvisionedDatabase
) -> None:
    _, first, second = _park_two(provisioned_database)

    shown = run("show", str(first))
    assert shown.exit_code == 0, shown.output
    assert f"Dead letter {first} (parked)" in shown.stdout
    assert "x-fault-reason: retries-exhausted" in shown.stdout
    assert "x-fault-stack" not in shown.stdout, "the stack is shown once, below"
    assert "Stack:\nTraceback" in shown.stdout
    assert '"password": "********"' in shown.stdout
    assert SECRET not in shown.stdout
    assert SECRET in run("show", str(first), "--reveal").stdout
    assert "b'\\xff'" in run("show", str(second)).stdout, "a body that is not JSON is shown raw"
    details = json.loads(run("show", str(first), "--json").stdout)
    assert details["headers"]["x-fault-attempts"] == "6"
    assert SECRET not in details["body"]

    missing = run("show", "999999999")
    assert missing.exit_code == 1
    assert "no dead letter with id 999999999" in missing.stderr


def test_replay_edit_and_purge(
    run: Dlq, provisioned_database: ProvisionedDatabase, tmp_path: Path
) -> None:
    consumer, first, second = _park_two(provisioned_database)

    assert run("replay").exit_code == 2
    both = run("replay", str(first), "--all")
    assert both.exit_code == 2
    assert "not both" in both.stderr
    unknown = run("replay", str(first), "999999999")
    assert unknown.exit_code == 1
    assert "no dead letter with id 999999999" in unknown.stderr

    replayed = run("replay", str(first))
    assert replayed.exit_code == 0, replayed.output
    assert "replayed 1 dead letter" in replayed.stdout
    assert json.loads(run("show", str(first), "--json").stdout)["status"] == "replayed"
    assert run("replay", "--consumer", consumer, "--reason", "nothing-like-it").exit_code == 1

    not_json = run("edit", str(second), "--json", "{broken")
    assert not_json.exit_code == 1
    assert "not JSON" in not_json.stderr
    assert "nothing changed" in run("edit", str(second), EDITOR="true").stderr
    editor = tmp_path / "editor.sh"
    editor.write_text("#!/bin/sh\nprintf '%s\\n' '{\"fixed\": true}' > \"$1\"\n")
    editor.chmod(0o755)
    edited = run("edit", str(second), EDITOR=str(editor))
    assert edited.exit_code == 0, edited.output
    [sent] = [line for line in edited.stdout.splitlines() if line.startswith("sent ")]
    new_id = sent.split()[1]
    assert UUID(new_id).version == 7
    assert sent.endswith(f"(replayed from dead letter {second})")
    assert json.loads(run("show", str(second), "--json").stdout)["replayed_as"] == new_id

    everything = ("--consumer", consumer, "--status", "all")
    cancelled = run("purge", *everything, input="n\n")
    assert cancelled.exit_code == 1
    assert "Purge 2 dead letter(s)?" in cancelled.stdout
    assert "purged 2 dead letters" in run("purge", *everything, "--yes").stdout
    purged = run("list", "--consumer", consumer, "--status", "purged", "--json").stdout
    assert len(json.loads(purged)) == 2
    assert "deleted 2 dead letters" in run("purge", *everything, "--hard", "--yes").stdout
    gone = run("purge", *everything, "--yes")
    assert gone.exit_code == 1
    assert "no dead letters match" in gone.stderr
