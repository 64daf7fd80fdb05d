"""The service's own processes (``commerce run worker`` / ``relay``), and what they cost.

:class:`ServiceProcess` starts one with a run's environment and logs to a file;
:class:`Sampler` reads CPU time and RSS of any set of processes from ``/proc`` a few
times a second, plus the machine's busy share, so a run reports CPU per message.
A watched group (:func:`postgres_backends`, :func:`processes_named`) is a set of pids
looked up at every sample: a run's Postgres backends come and go with its pools.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from tests.support.worker import environment_for

from commerce.config import Settings

__all__ = [
    "COMMERCE",
    "ProcessSample",
    "Sampler",
    "ServiceProcess",
    "cpu_seconds",
    "postgres_backends",
    "processes_named",
    "rss_mib",
    "start_service",
]

COMMERCE = str(Path(sys.executable).parent / "commerce")
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds ``pid`` used so far (NaN once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _all_pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _read(path: str) -> str:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def postgres_backends(database: str) -> Callable[[], list[int]]:
    """The pids of the Postgres backends connected to ``database`` (their process title is
    ``postgres: <user> <database> ...``); shared background processes are not counted."""
    marker = f" {database} "

    def find() -> list[int]:
        return [
            pid
            for pid in _all_pids()
            if (title := _read(f"/proc/{pid}/cmdline")).startswith("postgres: ")
            and marker in title.replace("\0", " ")
        ]

    return find


def processes_named(*names: str) -> Callable[[], list[int]]:
    """The pids whose command name (``/proc/<pid>/comm``) is one of ``names``."""
    wanted = set(names)

    def find() -> list[int]:
        return [pid for pid in _all_pids() if _read(f"/proc/{pid}/comm").strip() in wanted]

    return find


def _group_cpu(pids: Iterable[int]) -> float:
    """CPU seconds of the pids still alive."""
    return sum(cpu for cpu in map(cpu_seconds, pids) if not math.isnan(cpu))


def rss_mib(pid: int) -> float:
    """Resident set size of ``pid`` in MiB (NaN once it is gone)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return sum(values) - idle, sum(values)


class ServiceProcess:
    """One ``commerce run <what>`` process with its own log file."""

    def __init__(self, what: str, settings: Settings, log_dir: Path, *, tag: str = "") -> None:
        self.what = what
        self.settings = settings
        self.log_path = log_dir / f"{settings.broker.namespace}-{what}{tag}.log"
        self.stopped = False
        base = {k: v for k, v in os.environ.items() if not k.startswith("COMMERCE_")}
        env = base | environment_for(settings)
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(
                [COMMERCE, "run", what], env=env, stdout=log, stderr=subprocess.STDOUT
            )

    @property
    def pid(self) -> int:
        """The process id (for sampling and profiling)."""
        return self._process.pid

    def alive(self) -> bool:
        """Whether it still runs."""
        return self._process.poll() is None

    def log_tail(self, chars: int = 3000) -> str:
        """The end of its log, for error messages."""
        return self.log_path.read_text(errors="replace")[-chars:]

    async def wait_started(self, within: float = 60.0) -> None:
        """Until the worker answers ``/ready`` or the relay logs ``relay started``."""
        deadline = time.monotonic() + within
        url = f"http://127.0.0.1:{self.settings.http.port}/ready"
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                if not self.alive():
                    raise RuntimeError(f"{self.what} exited at start:\n{self.log_tail()}")
                if self.what == "relay":
                    if "relay started" in self.log_path.read_text(errors="replace"):
                        return
                else:
                    with contextlib.suppress(httpx.HTTPError):
                        if (await client.get(url)).status_code == 200:
                            return
                await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.what} not started after {within:.0f} s:\n{self.log_tail()}")

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL if it does not exit in time."""
        self.stopped = True
        if not self.alive():
            return
        self._process.send_signal(signal.SIGTERM)
        try:
            self._process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(timeout=10)


async def start_service(
    what: str, settings: Settings, log_dir: Path, *, tag: str = ""
) -> ServiceProcess:
    """Start ``commerce run <what>`` and wait until it is up."""
    process = ServiceProcess(what, settings, log_dir, tag=tag)
    try:
        await process.wait_started()
    except BaseException:
        process.stop()
        raise
    return process


@dataclass
class ProcessSample:
    """CPU seconds and RSS of each watched process, and machine jiffies, at one moment."""

    at: float
    cpu: dict[str, float]
    rss: dict[str, float]
    busy: int
    total: int


@dataclass
class Sampler:
    """Samples the watched processes every ``interval`` seconds while running."""

    pids: Mapping[str, int]
    interval: float = 0.25
    groups: Mapping[str, Callable[[], Iterable[int]]] = field(default_factory=dict)
    """Named groups of pids looked up at each sample; their CPU is summed (no RSS)."""
    samples: list[ProcessSample] = field(default_factory=list)
    _task: asyncio.Task[None] | None = None

    def sample(self) -> None:
        """Take one sample now."""
        busy, total = _machine_jiffies()
        cpu = {name: cpu_seconds(pid) for name, pid in self.pids.items()}
        cpu |= {name: _group_cpu(find()) for name, find in self.groups.items()}
        self.samples.append(
            ProcessSample(
                at=time.time(),
                cpu=cpu,
                rss={name: rss_mib(pid) for name, pid in self.pids.items()},
                busy=busy,
                total=total,
            )
        )

    async def _loop(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Start sampling in the background."""
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        """Stop sampling (one last sample is taken)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.sample()

    def _around(self, first: float, last: float) -> tuple[ProcessSample, ProcessSample]:
        before = [s for s in self.samples if s.at <= first] or self.samples[:1]
        after = [s for s in self.samples if s.at >= last] or self.samples[-1:]
        return before[-1], after[0]

    def cores(self, name: str, first: float, last: float) -> float:
        """Average cores ``name`` used between the samples bracketing ``first``..``last``."""
        start, end = self._around(first, last)
        span = end.at - start.at
        return (end.cpu[name] - start.cpu[name]) / span if span > 0 else float("nan")

    def cpu_used(self, name: str, first: float, last: float) -> float:
        """CPU seconds ``name`` used between the samples bracketing ``first``..``last``."""
        start, end = self._around(first, last)
        return end.cpu[name] - start.cpu[name]

    def machine_busy(self, first: float, last: float) -> float:
        """Share of all CPUs busy (0..1) between the samples bracketing the window."""
        start, end = self._around(first, last)
        total = end.total - start.total
        return (end.busy - start.busy) / total if total > 0 else float("nan")
