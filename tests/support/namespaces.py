"""Broker namespaces handed out to tests, and their removal from a local RabbitMQ.

Every test worker gets a fresh namespace so tests never consume each other's messages.
RabbitMQ keeps the durable queues and exchanges of a namespace after its test ends; a
broker holding thousands of them restarts slowly (Mnesia loads every one), which the
fault-injection drill does mid-session. So the namespaces issued by this process are
removed when the session's RabbitMQ fixture ends and before the drill restarts the broker.

Only names this process issued are touched: a developer's running worker, or another
test session on the same broker, keeps its queues.
"""

import re
import shutil
import subprocess
from collections.abc import Iterable
from uuid import uuid4

import aio_pika

__all__ = [
    "delete_rabbit_names",
    "fresh_namespace",
    "issued_namespaces",
    "remove_issued_namespaces",
]

_issued: set[str] = set()
_NAMESPACED = re.compile(r"^(t[0-9a-f]{12})\.")


def fresh_namespace() -> str:
    """A new namespace (``t`` + 12 hex digits), remembered for removal."""
    namespace = f"t{uuid4().hex[:12]}"
    _issued.add(namespace)
    return namespace


def issued_namespaces() -> frozenset[str]:
    """The namespaces this process handed out and has not removed yet."""
    return frozenset(_issued)


def _listed(kind: str) -> list[str]:
    completed = subprocess.run(
        ["rabbitmqctl", "-q", f"list_{kind}", "name"],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    return completed.stdout.split()


def _owned(names: Iterable[str], namespaces: frozenset[str]) -> list[str]:
    owned = []
    for name in names:
        match = _NAMESPACED.match(name)
        if match is not None and match.group(1) in namespaces:
            owned.append(name)
    return owned


async def remove_issued_namespaces(url: str, *, keep: Iterable[str] = ()) -> int:
    """Delete the queues and exchanges of every issued namespace but ``keep``'s.

    Lists names with ``rabbitmqctl`` (so only for a broker on this host; elsewhere,
    e.g. a testcontainer that is thrown away anyway, nothing is done) and deletes them
    over AMQP. Returns how many queues and exchanges were deleted.
    """
    if shutil.which("rabbitmqctl") is None:
        return 0
    doomed = frozenset(_issued) - frozenset(keep)
    if not doomed:
        return 0
    queues = _owned(_listed("queues"), doomed)
    exchanges = _owned(_listed("exchanges"), doomed)
    await delete_rabbit_names(url, queues, exchanges)
    _issued.difference_update(doomed)
    return len(queues) + len(exchanges)


async def delete_rabbit_names(url: str, queues: Iterable[str], exchanges: Iterable[str]) -> None:
    """Delete ``queues`` and ``exchanges`` over AMQP (a missing one is a no-op)."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        for queue in queues:
            await channel.queue_delete(queue)
        for exchange in exchanges:
            await channel.exchange_delete(exchange)
    finally:
        await connection.close()
