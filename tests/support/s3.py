"""Run a local S3 (moto's server) as a child process for tests.

Used to give Tansu durable ``s3://`` storage (see :meth:`tests.support.tansu.TansuBroker.durable`).
The server binds 127.0.0.1 on a free port, keeps every bucket in memory for as long as it
runs and accepts any credentials. Its output goes to :attr:`MotoServer.log_path`.
"""

import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self
from uuid import uuid4

from tests.support.tansu import free_port

__all__ = ["MotoServer", "S3Error"]

_LOG_TAIL_CHARS = 4000


class S3Error(RuntimeError):
    """The moto server could not be started or refused a request."""


class MotoServer:
    """moto's S3 server on a free 127.0.0.1 port; use as a context manager."""

    access_key_id = "moto-test"
    secret_access_key = "moto-test"  # moto accepts any credentials
    region = "us-east-1"

    def __init__(self, *, port: int | None = None, startup_timeout: float = 30.0) -> None:
        """Configure the server; nothing runs until :meth:`start`."""
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        fd, name = tempfile.mkstemp(prefix="moto-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """The server's base URL, ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def env(self) -> dict[str, str]:
        """``AWS_*`` variables pointing an S3 client (object_store, boto3) at this server."""
        return {
            "AWS_ACCESS_KEY_ID": self.access_key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret_access_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_ENDPOINT": self.endpoint,
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ALLOW_HTTP": "true",
        }

    def create_bucket(self, name: str | None = None) -> str:
        """Create a bucket (a fresh unique one by default) and return its name."""
        bucket = name or f"tansu-{uuid4().hex[:12]}"
        self._request("PUT", f"/{bucket}")
        return bucket

    def object_keys(self, bucket: str, prefix: str = "") -> list[str]:
        """The keys in ``bucket`` under ``prefix`` (first 1,000)."""
        body = self._request("GET", f"/{bucket}?list-type=2&prefix={prefix}")
        parts = body.decode().split("<Key>")[1:]
        return [part.split("</Key>", 1)[0] for part in parts]

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """Return the end of the server log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> Self:
        """Spawn the server and block until it answers S3 requests."""
        if self.running:
            return self
        command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if not self.running:
                self.stop()
                self._fail("exited during start-up")
            try:
                self._request("GET", "/")
            except (S3Error, OSError):
                time.sleep(0.1)
            else:
                return self
        self.stop()
        self._fail(f"not ready after {self.startup_timeout:.0f} s")
        return self  # unreachable: _fail raises

    def stop(self) -> None:
        """Terminate the server (every bucket is lost); a no-op when it is not running."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def _request(self, method: str, path: str) -> bytes:
        request = urllib.request.Request(f"{self.endpoint}{path}", method=method)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            msg = f"moto {method} {path}: HTTP {error.code} {error.read()[:500]!r}"
            raise S3Error(msg) from error

    def _fail(self, reason: str) -> None:
        msg = f"moto on {self.endpoint} {reason}; log {self.log_path}:\n{self.log_tail()}"
        raise S3Error(msg)

    def __enter__(self) -> Self:
        """Start the server."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the server and delete its log unless something failed."""
        self.stop()
        if exc_type is None:
            self.log_path.unlink(missing_ok=True)
