"""Operators get one clear line per problem, and nothing is published on bad input."""

import os
import subprocess
import sys
from pathlib import Path
from uuid import uuid4

import pytest

pytestmark = pytest.mark.e2e

COMMERCE = str(Path(sys.executable).parent / "commerce")


def _run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    return subprocess.run(
        [COMMERCE, *args], env=base | env, capture_output=True, text=True, timeout=60, check=False
    )


def test_invalid_settings_fail_at_start_with_one_line_per_problem() -> None:
    result = _run(
        "check",
        COMMERCE_BROKER__URL="nats://user:s3cr3t@localhost:4222",
        COMMERCE_HTTP__PORT="not-a-port",
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert any(line.startswith("invalid setting: COMMERCE_BROKER__URL:") for line in lines)
    assert any(line.startswith("invalid setting: COMMERCE_HTTP__PORT:") for line in lines)
    assert "s3cr3t" not in result.stderr + result.stdout


def test_an_invalid_command_payload_is_refused_before_publishing() -> None:
    result = _run(
        "publish",
        "RegisterUser",
        "--tenant",
        str(uuid4()),
        "--json",
        '{"user_id": "nope", "email": "a@b.co", "display_name": "A", "password": "short"}',
        COMMERCE_BROKER__URL="amqp://guest:guest@127.0.0.1:1/",
    )
    assert result.returncode == 2
    assert "invalid RegisterUser: user_id:" in result.stderr
    assert "invalid RegisterUser: password:" in result.stderr
    assert "short" not in result.stderr


def test_a_missing_or_malformed_tenant_is_refused() -> None:
    payload = (
        '{"user_id": "%s", "email": "a@b.co", "display_name": "A", "password": "long enough pw"}'
    )
    missing = _run("publish", "RegisterUser", "--json", payload % uuid4())
    assert missing.returncode == 2
    assert "--tenant" in missing.stderr
    malformed = _run("publish", "RegisterUser", "--json", payload % uuid4(), "--tenant", "acme")
    assert malformed.returncode == 2
    assert "acme" in malformed.stderr


def test_an_unknown_command_lists_the_known_ones() -> None:
    result = _run("publish", "DeleteEverything", "--json", "{}", "--tenant", str(uuid4()))
    assert result.returncode == 1
    assert "unknown command 'DeleteEverything'; known: RegisterUser" in result.stderr


def test_an_unreachable_service_is_named_with_its_address_and_how_to_start_it() -> None:
    result = _run(
        "check",
        COMMERCE_DATABASE__URL="postgresql+asyncpg://app:pw@127.0.0.1:1/commerce",
        COMMERCE_BROKER__URL="amqp://guest:guest@127.0.0.1:5672/",
    )
    assert result.returncode == 1
    assert "PostgreSQL is unreachable at 127.0.0.1:1" in result.stderr
    assert "start it with: pg_ctlcluster" in result.stderr
    assert "pw@" not in result.stderr


def test_an_unreachable_local_kafka_says_make_kafka() -> None:
    result = _run("check", COMMERCE_BROKER__URL="kafka://127.0.0.1:1")
    assert result.returncode == 1
    assert "Kafka is unreachable at 127.0.0.1:1" in result.stderr
    hint = "start it with: make kafka  (or, for kafka://localhost:9094: docker compose up"
    assert hint in result.stderr
