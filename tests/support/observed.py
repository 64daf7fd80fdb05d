"""``commerce`` processes for the operator's-view tests: their output, HTTP and logs.

Each process writes stdout and stderr to files of its own, so a test can read every line
it logged on either stream.
"""

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from commerce.config import Settings
from tests.support.processes import COMMERCE
from tests.support.worker import environment_for

__all__ = [
    "Process",
    "commerce",
    "environment",
    "get_until",
    "json_records",
    "logged",
    "publish_register_user",
]


@dataclass
class Process:
    """A running ``commerce`` process whose stdout and stderr go to files."""

    process: subprocess.Popen[bytes]
    env: dict[str, str]
    stdout: Path
    stderr: Path

    def output(self) -> str:
        """Everything written so far, stdout then stderr."""
        return self.stdout.read_text() + self.stderr.read_text()


def environment(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment without ``COMMERCE_*``, plus ``settings`` and ``extra``."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
    return base | environment_for(settings) | extra


@asynccontextmanager
async def commerce(args: list[str], env: dict[str, str], tmp_path: Path) -> AsyncIterator[Process]:
    """``commerce <args>`` running until the block ends (SIGTERM, then at most 30 s)."""
    stdout, stderr = tmp_path / f"{args[-1]}.out", tmp_path / f"{args[-1]}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen([COMMERCE, *args], env=env, stdout=out, stderr=err)
    running = Process(process, env, stdout, stderr)
    try:
        yield running
    finally:
        process.terminate()
        try:  # without blocking the loop: a database proxy may live on it
            await asyncio.to_thread(process.wait, 30)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the process did not stop within 30 s of SIGTERM")


async def get_until(
    url: str, running: Process, *, until: object = None, timeout: float = 30
) -> str:
    """GET ``url`` until it answers (and ``until`` is in the body); returns the body."""
    deadline = asyncio.get_running_loop().time() + timeout
    body = ""
    while asyncio.get_running_loop().time() < deadline:
        assert running.process.poll() is None, running.output()[-3000:]
        try:
            async with httpx.AsyncClient(timeout=5) as client:
                body = (await client.get(url)).text
            if until is None or (callable(until) and until(body)):
                return body
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.3)
    raise AssertionError(f"{url} never answered as expected; last body:\n{body[-3000:]}")


async def logged(running: Process, until: Callable[[str], bool], *, timeout: float = 60) -> None:
    """Wait until the process's output (stdout and stderr) satisfies ``until``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not until(running.output()):
        assert running.process.poll() is None, running.output()[-3000:]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"never logged as expected:\n{running.output()[-3000:]}")
        await asyncio.sleep(0.3)


def json_records(running: Process) -> list[dict[str, Any]]:
    """Every line the process wrote, on stdout and on stderr: each must be a JSON object."""
    records = []
    for path in (running.stdout, running.stderr):
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                assert isinstance(record, dict), f"{path.name}: {line}"
                assert "event" in record, f"{path.name}: {line}"
                records.append(record)
    return records


def publish_register_user(env: Mapping[str, str]) -> tuple[str, str]:
    """Publish a ``RegisterUser`` with ``commerce publish``; returns (tenant, user id)."""
    tenant, user = str(uuid4()), str(uuid4())
    payload = {
        "user_id": user,
        "email": f"obs-{uuid4().hex[:10]}@example.com",
        "display_name": "Observed",
        "password": "correct horse battery staple",
    }
    arguments = ["publish", "RegisterUser", "--json", json.dumps(payload), "--tenant", tenant]
    result = subprocess.run(
        [COMMERCE, *arguments],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return tenant, user
