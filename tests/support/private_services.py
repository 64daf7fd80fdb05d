"""A PostgreSQL cluster and a Redis server of a test's own, which it may stop for minutes.

The outage drill stops its database for five minutes: on the shared cluster that would
break every other test running beside it (other suites, other sessions' checks). These
are real servers from the machine's packages (``pg_createcluster``, ``redis-server``) on
free ports, removed when the test ends.
"""

import shutil
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Self
from uuid import uuid4

from tests.support.tansu import free_port

__all__ = ["PrivatePostgres", "PrivateRedis", "PrivateServiceError"]


class PrivateServiceError(RuntimeError):
    """The machine cannot run a private server (tool missing or failing)."""


def _run(*command: str, timeout: float = 120) -> None:
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise PrivateServiceError(f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}")


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (trust authentication on 127.0.0.1)."""

    def __init__(self) -> None:
        if shutil.which("pg_createcluster") is None or not Path("/etc/postgresql").is_dir():
            raise PrivateServiceError("pg_createcluster (Debian's postgresql-common) is missing")
        self.version = max(path.name for path in Path("/etc/postgresql").iterdir())
        self.name = f"outage{uuid4().hex[:8]}"
        self.port = free_port()

    @property
    def admin_url(self) -> str:
        """The superuser's DSN."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _ctl(self, action: str, *options: str) -> None:
        _run(
            "pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, action, *options
        )

    def start(self) -> None:
        """Start the cluster (again)."""
        self._ctl("start")

    def stop(self) -> None:
        """Stop it now: connections are cut, clients get 'connection refused'."""
        self._ctl("stop", "-m", "fast")

    def __enter__(self) -> Self:
        _run(
            "pg_createcluster", self.version, self.name, "-p", str(self.port),
            "--start-conf=manual", "--", "--auth=trust",
        )  # fmt: skip
        try:
            self.start()
        except BaseException:
            _run("pg_dropcluster", "--stop", self.version, self.name)
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        _run("pg_dropcluster", "--stop", self.version, self.name)


class PrivateRedis:
    """A Redis server of the test's own, keeping nothing on disk."""

    def __init__(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise PrivateServiceError("redis-server is missing")
        self._binary = binary
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The server's URL."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again) and wait until it answers."""
        self._process = subprocess.Popen(
            [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while (
            subprocess.run(
                ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, check=False
            ).stdout.strip()
            != b"PONG"
        ):
            if time.monotonic() > deadline:
                raise PrivateServiceError("the private redis-server did not answer in 30 s")
            time.sleep(0.1)

    def stop(self) -> None:
        """Stop it now."""
        if self._process is not None:
            self._process.kill()
            self._process.wait(30)
            self._process = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
