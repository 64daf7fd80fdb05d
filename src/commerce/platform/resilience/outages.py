"""Telling a dependency outage from a bad message, by the failure's exception chain.

A failure "looks like an outage" when an exception in its chain (``__cause__`` or
``__context__``) says a dependency could not be reached or did not answer: connection
refused or reset, a timeout, an exhausted connection pool, a server shutting down, a broker
connection lost, or an open circuit breaker. Everything else (a constraint violation, a bug,
a business rule) is the message's own failure.

Matching goes by the exception classes' qualified names, so that the platform need not
import every driver to recognise its errors. The dependency is named when the chain says
which one (``postgres``, ``redis``, ``broker``, or an object's own ``dependency``); a bare
``ConnectionRefusedError`` is a ``network`` outage of whatever the consumer talks to.
"""

from __future__ import annotations

import errno
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["Outage", "outage_of"]

_NETWORK_ERRNOS = frozenset(
    {
        errno.ECONNREFUSED,
        errno.ECONNRESET,
        errno.ECONNABORTED,
        errno.EHOSTUNREACH,
        errno.ENETUNREACH,
        errno.ENETDOWN,
        errno.ETIMEDOUT,
        errno.EPIPE,
    }
)

_DRIVER_OUTAGES: dict[str, str] = {
    "asyncpg.exceptions.PostgresConnectionError": "postgres",
    "asyncpg.exceptions.CannotConnectNowError": "postgres",
    "asyncpg.exceptions.AdminShutdownError": "postgres",
    "asyncpg.exceptions.CrashShutdownError": "postgres",
    "asyncpg.exceptions.TooManyConnectionsError": "postgres",
    "asyncpg.exceptions._base.InterfaceError": "postgres",
    "sqlalchemy.exc.TimeoutError": "postgres",
    "redis.exceptions.ConnectionError": "redis",
    "redis.exceptions.TimeoutError": "redis",
    "aiormq.exceptions.AMQPConnectionError": "broker",
    "aiormq.exceptions.ChannelInvalidStateError": "broker",
    "aio_pika.exceptions.ChannelClosed": "broker",
    "aiokafka.errors.KafkaConnectionError": "broker",
    "aiokafka.errors.NodeNotReadyError": "broker",
    "aiokafka.errors.RequestTimedOutError": "broker",
    "aiokafka.errors.KafkaTimeoutError": "broker",
}
"""Driver exception classes (qualified names) that mean their dependency is unreachable."""

_DRIVER_PREFIXES: dict[str, str] = {
    "asyncpg": "postgres",
    "sqlalchemy": "postgres",
    "redis": "redis",
    "aiormq": "broker",
    "aio_pika": "broker",
    "pamqp": "broker",
    "aiokafka": "broker",
}


@dataclass(frozen=True, slots=True)
class Outage:
    """A failure that looks like ``dependency`` being down; ``error`` describes it."""

    dependency: str
    error: str


def outage_of(failure: BaseException) -> Outage | None:
    """The outage ``failure`` reveals, or ``None`` if it is the message's own failure."""
    chain = list(_chain(failure))
    for error in chain:
        dependency = getattr(error, "dependency", None)
        if isinstance(dependency, str) and dependency:
            return Outage(dependency, _describe(error))
        for name in _qualified_names(type(error)):
            if name in _DRIVER_OUTAGES:
                return Outage(_DRIVER_OUTAGES[name], _describe(error))
    for position, error in enumerate(chain):
        if type(error).__module__.startswith("commerce."):
            continue  # our own wrappers (e.g. a failed shared transaction) tell by their cause
        if _is_network_failure(error):
            return Outage(_dependency_near(chain, position), _describe(error))
    return None


def _chain(failure: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    error: BaseException | None = failure
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _qualified_names(kind: type[BaseException]) -> Iterator[str]:
    for base in kind.__mro__:
        yield f"{base.__module__}.{base.__qualname__}"


def _is_network_failure(error: BaseException) -> bool:
    if isinstance(error, ConnectionError | TimeoutError):
        return True
    return isinstance(error, OSError) and error.errno in _NETWORK_ERRNOS


def _dependency_near(chain: list[BaseException], position: int) -> str:
    """The driver named by the errors around ``position`` (its wrappers), else ``network``."""
    for error in chain[: position + 1][::-1]:
        root = type(error).__module__.split(".", 1)[0]
        if root in _DRIVER_PREFIXES:
            return _DRIVER_PREFIXES[root]
    return "network"


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__
