"""Which failures look like a dependency outage, and which are the message's own."""

import asyncio
import errno

import asyncpg
import pytest
import redis.exceptions
import sqlalchemy.exc
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.resilience.outages import Outage, outage_of
from commerce.platform.transactions.group_commit import BatchAbortedError

pytestmark = pytest.mark.unit


def _raised_from(error: BaseException, cause: BaseException) -> BaseException:
    error.__cause__ = cause
    return error


class _OpenCircuit(ConnectionError):
    dependency = "redis"


@pytest.mark.parametrize(
    ("failure", "dependency"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"), "network"),
        (TimeoutError(), "network"),
        (OSError(errno.EHOSTUNREACH, "no route"), "network"),
        (asyncpg.exceptions.CannotConnectNowError("starting up"), "postgres"),
        (asyncpg.exceptions.AdminShutdownError("terminating"), "postgres"),
        (asyncpg.exceptions.ConnectionDoesNotExistError("closed"), "postgres"),
        (sqlalchemy.exc.TimeoutError("QueuePool limit reached"), "postgres"),
        (redis.exceptions.ConnectionError("Error 111"), "redis"),
        (redis.exceptions.TimeoutError("Timeout"), "redis"),
        (_OpenCircuit("open"), "redis"),
        (
            _raised_from(
                sqlalchemy.exc.OperationalError("select 1", {}, Exception("x")),
                asyncpg.exceptions.ConnectionDoesNotExistError("closed mid-operation"),
            ),
            "postgres",
        ),
        (
            _raised_from(BatchAbortedError("commit failed"), ConnectionResetError()),
            "network",
        ),
    ],
)
def test_a_dependency_that_cannot_be_reached_is_an_outage(
    failure: BaseException, dependency: str
) -> None:
    outage = outage_of(failure)
    assert outage is not None
    assert outage.dependency == dependency


@pytest.mark.parametrize(
    "failure",
    [
        ValueError("bad amount"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        OSError(errno.ENOENT, "no such file"),
        KeyError("x"),
        _raised_from(
            BatchAbortedError("the shared transaction failed"),
            asyncpg.exceptions.UniqueViolationError("duplicate key"),
        ),
        asyncio.CancelledError(),
    ],
)
def test_a_message_s_own_failure_is_no_outage(failure: BaseException) -> None:
    assert outage_of(failure) is None


@given(st.lists(st.sampled_from([ValueError, KeyError, RuntimeError]), min_size=1, max_size=6))
def test_a_chain_without_network_or_driver_failures_is_never_an_outage(
    kinds: list[type[Exception]],
) -> None:
    failure: BaseException | None = None
    for kind in kinds:
        error = kind("x")
        error.__cause__ = failure
        failure = error
    assert failure is not None
    assert outage_of(failure) is None


@given(st.integers(min_value=0, max_value=5))
def test_an_outage_anywhere_in_the_chain_is_found(depth: int) -> None:
    failure: BaseException = ConnectionResetError(errno.ECONNRESET, "reset")
    for _ in range(depth):
        wrapper = RuntimeError("wrapped")
        wrapper.__cause__ = failure
        failure = wrapper
    assert outage_of(failure) == Outage("network", "ConnectionResetError: [Errno 104] reset")
