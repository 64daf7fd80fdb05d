"""Where the time goes: py-spy attached to the worker and relay of one pipeline run.

py-spy samples each process at 200 Hz into collapsed stacks. Its idle detection does
not work on this kind of VM, so :func:`summarize` drops samples whose innermost frame is
a wait (epoll, a condition, an idle pool thread) itself, then attributes every other
sample to the library it was spent in: walking from the innermost frame outwards, the
first frame outside the standard library names it (so ``json`` called by structlog counts
as structlog); stdlib work right under an event loop callback counts as the loop's.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["LOOP", "PY_SPY", "Profile", "Profiler", "classify", "summarize"]

PY_SPY = str(Path(sys.executable).parent / "py-spy")
RATE = 200

_GROUPS = {
    "sqlalchemy": "SQLAlchemy",
    "asyncpg": "asyncpg",
    "faststream": "FastStream",
    "fast_depends": "FastStream",
    "aio_pika": "aio-pika / aiormq / pamqp",
    "aiormq": "aio-pika / aiormq / pamqp",
    "pamqp": "aio-pika / aiormq / pamqp",
    "aiokafka": "aiokafka",
    "kafka": "aiokafka",
    "pydantic": "pydantic",
    "pydantic_core": "pydantic",
    "structlog": "structlog (logging)",
    "opentelemetry": "OpenTelemetry",
    "prometheus_client": "prometheus_client",
    "argon2": "argon2 (password hash)",
    "_argon2_cffi_bindings": "argon2 (password hash)",
    "uvicorn": "uvicorn",
    "anyio": "anyio",
}
_STDLIB = {
    "asyncio": "asyncio event loop",
    "selectors": "asyncio event loop",
    "logging": "logging (stdlib)",
    "threading": "threads",
    "concurrent": "threads",
}
#: Innermost frames of a thread that waits: such samples are idle, not work.
IDLE_FRAMES = frozenset(
    {
        "EpollSelector.select",
        "Condition.wait",
        "Event.wait",
        "_worker",  # a ThreadPoolExecutor thread blocked on its queue
        "WorkerThread.run",  # anyio's idle worker thread
        "Thread._wait_for_tstate_lock",
    }
)
#: Frames where the event loop hands control to a callback: work found under one with no
#: library frame in between is the loop's own (socket reads and writes, and the Cython
#: protocol parsers of asyncpg, which py-spy cannot see into). Under uvloop the loop is C
#: code that py-spy cannot see either: its work shows as ``Runner.run`` (``asyncio.run``).
LOOP_FRAMES = frozenset({"Handle._run", "BaseEventLoop._run_once", "Runner.run"})
LOOP = "asyncio loop + socket I/O (incl. Cython protocols)"
#: Inclusive markers: share of samples with a frame whose function contains the text.
MARKERS = {
    "RegisterUser handler (Service.execute)": "Service.execute",
    "unit of work (claim + handler + commit)": "process_command",
    "outbox flush + commit": "SqlUnitOfWork.commit",
    "relay batch (claim, publish, mark sent)": "OutboxRelay.publish_batch",
    "relay publish of one wave of events": "publish_events",
    "FastStream consume path": "SubscriberUsecase.consume",
    "structlog": "structlog",
    "OpenTelemetry": "opentelemetry",
}


def _frame_path(frame: str) -> tuple[str, str]:
    """``function (path:line)`` → (function, path)."""
    function, _, rest = frame.rpartition(" (")
    return function, rest.rsplit(":", 1)[0]


def classify(path: str) -> str | None:
    """The group of a frame's file; ``None`` for the standard library."""
    if "/site-packages/" in path:
        top = path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
        return _GROUPS.get(top, top)
    if "/commerce/" in path:
        return "commerce (our code)"
    if "/scripts/bench/" in path:
        return "bench harness"
    return None


def _stdlib_group(path: str) -> str:
    parts = path.split("/lib/python3", 1)[-1].split("/")
    module = parts[1].removesuffix(".py") if len(parts) > 1 else path
    return _STDLIB.get(module, f"stdlib {module}")


@dataclass
class Profile:
    """One process' samples, by group (self time) and by innermost function."""

    process: str
    samples: int = 0
    idle: int = 0
    groups: Counter[str] = field(default_factory=Counter)
    functions: Counter[str] = field(default_factory=Counter)
    markers: Counter[str] = field(default_factory=Counter)

    def share(self, count: int) -> float:
        """``count`` samples as a share of all (0..1)."""
        return count / self.samples if self.samples else 0.0

    def as_json(self, cpu_us_per_message: float | None = None) -> dict[str, Any]:
        """Shares (and µs per message when the process' CPU per message is known)."""

        def entry(name: str, count: int) -> dict[str, Any]:
            item: dict[str, Any] = {"name": name, "share": round(self.share(count), 4)}
            if cpu_us_per_message is not None:
                item["us_per_message"] = round(self.share(count) * cpu_us_per_message, 1)
            return item

        return {
            "process": self.process,
            "samples": self.samples,
            "idle_samples_dropped": self.idle,
            "cpu_us_per_message": cpu_us_per_message,
            "groups": [entry(name, count) for name, count in self.groups.most_common()],
            "functions": [entry(name, count) for name, count in self.functions.most_common(15)],
            "markers": [entry(name, self.markers[name]) for name in MARKERS],
        }


def _owner(frames: list[tuple[str, str]]) -> str:
    """The group a sample belongs to: the innermost library frame, else the loop's."""
    for function, path in reversed(frames):
        if (group := classify(path)) is not None:
            return group
        if function in LOOP_FRAMES:
            return LOOP
    return _stdlib_group(frames[-1][1])


def summarize(process: str, path: Path) -> Profile:
    """Read py-spy's raw (collapsed) output for ``process``."""
    profile = Profile(process)
    if not path.exists():
        return profile
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_frame_path(frame) for frame in stack.split(";")]
        if frames[-1][0] in IDLE_FRAMES:
            profile.idle += count
            continue
        profile.samples += count
        profile.groups[_owner(frames)] += count
        function, file = frames[-1]
        profile.functions[f"{function} ({Path(file).name})"] += count
        for label, text in MARKERS.items():
            if any(text in name or text in file for name, file in frames):
                profile.markers[label] += count
    return profile


class Profiler:
    """py-spy recorders attached to processes until :meth:`stop`."""

    def __init__(self, recorders: Mapping[str, subprocess.Popen[bytes]], outputs: dict[str, Path]):
        self._recorders = dict(recorders)
        self.outputs = outputs

    @classmethod
    def attach(cls, pids: Mapping[str, int], directory: Path | None, *, tag: str) -> Profiler:
        """Start one recorder per process (none when ``directory`` is ``None``)."""
        if directory is None:
            return cls({}, {})
        directory.mkdir(parents=True, exist_ok=True)
        outputs = {name: directory / f"{tag}-{name}.collapsed.txt" for name in pids}
        recorders = {
            name: subprocess.Popen(
                [
                    PY_SPY,
                    "record",
                    "--pid",
                    str(pid),
                    "--rate",
                    str(RATE),
                    "--format",
                    "raw",
                    "--full-filenames",
                    "--output",
                    str(outputs[name]),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, pid in pids.items()
        }
        return cls(recorders, outputs)

    async def stop(self) -> None:
        """Stop recording (SIGINT makes py-spy write its output)."""
        for recorder in self._recorders.values():
            if recorder.poll() is None:
                recorder.send_signal(signal.SIGINT)
        for recorder in self._recorders.values():
            try:
                await asyncio.to_thread(recorder.wait, 30)
            except subprocess.TimeoutExpired:
                recorder.kill()
