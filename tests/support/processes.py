"""Service processes for end-to-end tests: start, SIGKILL, restart, stop gracefully."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

__all__ = ["COMMERCE", "ServiceProcesses"]

COMMERCE = str(Path(sys.executable).parent / "commerce")


class ServiceProcesses:
    """Named ``commerce run <what>`` processes sharing one environment and log folder."""

    def __init__(self, env: Mapping[str, str], log_dir: Path) -> None:
        base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
        self._env = base | dict(env)
        self._log_dir = log_dir
        self._running: dict[str, subprocess.Popen[bytes]] = {}
        self._starts: dict[str, int] = {}

    def start(self, name: str, *args: str) -> None:
        """Start ``commerce run <args>`` as ``name`` (its log goes to ``<name>-<n>.log``)."""
        self._starts[name] = self._starts.get(name, 0) + 1
        log = (self._log_dir / f"{name}-{self._starts[name]}.log").open("wb")
        self._running[name] = subprocess.Popen(
            [COMMERCE, "run", *(args or (name,))],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown, no acks, no cleanup."""
        process = self._running.pop(name)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)

    def stop(self, name: str, timeout: float = 45) -> int | None:
        """SIGTERM and wait for a graceful exit; returns the exit code."""
        process = self._running.pop(name, None)
        if process is None:
            return None
        process.terminate()
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            raise

    def alive(self, name: str) -> bool:
        """Whether ``name`` is running."""
        process = self._running.get(name)
        return process is not None and process.poll() is None

    async def ready(self, name: str, url: str, timeout: float = 90) -> None:
        """Wait until ``name`` (a worker) answers ``GET <url>/ready`` with 200."""
        deadline = asyncio.get_running_loop().time() + timeout
        async with httpx.AsyncClient(timeout=5) as client:
            while asyncio.get_running_loop().time() < deadline:
                assert self.alive(name), self.logs(name)[-3000:]
                try:
                    if (await client.get(f"{url}/ready")).status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.3)
        raise AssertionError(f"{name} never became ready")

    def wait(self, name: str, timeout: float) -> int:
        """Wait for ``name`` to exit by itself; returns its exit code."""
        return self._running.pop(name).wait(timeout=timeout)

    def log_path(self, name: str, run: int) -> Path:
        """The log of ``name``'s ``run``-th start (1 is the first)."""
        return self._log_dir / f"{name}-{run}.log"

    def logs(self, name: str) -> str:
        """Every log of ``name``'s runs, oldest first."""
        return "".join(
            self.log_path(name, n).read_text(errors="replace")
            for n in range(1, self._starts.get(name, 0) + 1)
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for name in list(self._running):
            self.stop(name)
