"""Resolution order of the test services, with Docker and the network faked out."""

import dataclasses
from collections.abc import Callable
from contextlib import ExitStack
from typing import Any

import docker
import pytest

from tests.support import services
from tests.support.services import KAFKA, POSTGRES, RABBIT, REDIS, ServiceSpec, resolve
from tests.support.tansu import TansuError

__all__: list[str] = []

pytestmark = pytest.mark.unit

docker_available = services.docker_available


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No CI flag, no configured service, no Docker and nothing reachable by default."""
    for spec in (POSTGRES, RABBIT, REDIS, KAFKA):
        monkeypatch.delenv(spec.env_var, raising=False)
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("COMMERCE_TEST_CONTAINERS", raising=False)
    monkeypatch.setattr(services, "docker_available", lambda: False)
    monkeypatch.setattr(services, "is_reachable", lambda host, port: False)


def must_not_run(*_: Any) -> str:
    """Stands in for a way of finding a service that must not be tried."""
    raise AssertionError("this resolution step must not run")


def with_steps(
    spec: ServiceSpec,
    container: Callable[[ExitStack], str] = must_not_run,
    start_local: Callable[[ExitStack], str] | None = None,
) -> ServiceSpec:
    """A copy of ``spec`` whose container and local start are fakes."""
    return dataclasses.replace(spec, container=container, start_local=start_local)


def reachable(monkeypatch: pytest.MonkeyPatch, seen: list[tuple[str, int]]) -> None:
    """Make every address reachable and record the ones probed."""
    monkeypatch.setattr(
        services, "is_reachable", lambda host, port: seen.append((host, port)) or True
    )


def test_environment_variable_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    reachable(monkeypatch, seen)
    monkeypatch.setattr(services, "docker_available", must_not_run)
    monkeypatch.setenv(RABBIT.env_var, "amqp://user:pw@rabbit.example:5673/vh")

    with ExitStack() as stack:
        assert resolve(with_steps(RABBIT), stack) == "amqp://user:pw@rabbit.example:5673/vh"
    assert seen == [("rabbit.example", 5673)]


def test_kafka_environment_variable_is_host_port(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    reachable(monkeypatch, seen)
    monkeypatch.setenv(KAFKA.env_var, "kafka-a:29092,kafka-b:29092")

    with ExitStack() as stack:
        assert resolve(with_steps(KAFKA, start_local=must_not_run), stack).startswith("kafka-a")
    assert seen == [("kafka-a", 29092)]


def test_unreachable_environment_variable_fails_even_outside_ci(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(POSTGRES.env_var, "postgresql://postgres:secret@db.invalid/postgres")

    with ExitStack() as stack, pytest.raises(pytest.fail.Exception) as failure:
        resolve(with_steps(POSTGRES), stack)
    assert f"{POSTGRES.env_var}=postgresql://postgres:***@db.invalid/postgres" in str(failure.value)


def test_docker_daemon_means_container(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "docker_available", lambda: True)
    monkeypatch.setattr(services, "is_reachable", must_not_run)
    spec = with_steps(REDIS, container=lambda stack: "redis://container:32768/0")

    with ExitStack() as stack:
        assert resolve(spec, stack) == "redis://container:32768/0"


def test_no_docker_means_reachable_local_default(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[str, int]] = []
    reachable(monkeypatch, seen)

    with ExitStack() as stack:
        url = resolve(with_steps(POSTGRES), stack)
    assert url == "postgresql://postgres@127.0.0.1:5432/postgres"
    assert seen == [("127.0.0.1", 5432)]


def test_no_docker_means_tansu_for_kafka() -> None:
    spec = with_steps(KAFKA, start_local=lambda stack: "127.0.0.1:40123")

    with ExitStack() as stack:
        assert resolve(spec, stack) == "127.0.0.1:40123"


def test_unreachable_local_default_fails_clearly_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")

    with ExitStack() as stack, pytest.raises(pytest.fail.Exception) as failure:
        resolve(with_steps(RABBIT), stack)
    message = str(failure.value)
    for expected in (
        "RabbitMQ",
        "amqp://guest:***@127.0.0.1:5672/",
        RABBIT.env_var,
        "start RabbitMQ",
    ):
        assert expected in message


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_unreachable_local_default_skips_outside_ci(
    monkeypatch: pytest.MonkeyPatch, ci: str | None
) -> None:
    if ci is not None:
        monkeypatch.setenv("CI", ci)

    with ExitStack() as stack, pytest.raises(pytest.skip.Exception, match="Redis is not reachable"):
        resolve(with_steps(REDIS), stack)


def test_tansu_that_cannot_start_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    class BrokenTansu:
        def __enter__(self) -> None:
            raise TansuError("binary not found")

        def __exit__(self, *_: object) -> None:
            """Nothing to clean up."""

    monkeypatch.setenv("CI", "1")
    monkeypatch.setattr(services, "TansuBroker", BrokenTansu)

    with ExitStack() as stack, pytest.raises(pytest.fail.Exception, match="binary not found"):
        resolve(KAFKA, stack)


def test_docker_probe_without_endpoint_does_not_touch_docker(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    monkeypatch.setattr(services, "_docker_sockets", list)
    monkeypatch.setattr(docker, "from_env", must_not_run)
    assert docker_available() is False


def test_docker_probe_swallows_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_daemon(**_: Any) -> Any:
        raise docker.errors.DockerException("no daemon")

    monkeypatch.setenv("DOCKER_HOST", "tcp://127.0.0.1:1")
    monkeypatch.setattr(docker, "from_env", no_daemon)
    assert docker_available() is False


def test_docker_probe_pings_and_can_be_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    closed: list[bool] = []

    class Client:
        def ping(self) -> bool:
            return True

        def close(self) -> None:
            closed.append(True)

    monkeypatch.setenv("DOCKER_HOST", "unix:///run/fake-docker.sock")
    monkeypatch.setattr(docker, "from_env", lambda **_: Client())
    assert docker_available() is True
    assert closed == [True]
    monkeypatch.setenv("COMMERCE_TEST_CONTAINERS", "0")
    assert docker_available() is False


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("postgresql://postgres@db:6543/postgres", ("db", 6543)),
        ("amqp://guest:guest@rabbit/", ("rabbit", 5672)),
        ("broker-1:19092, broker-2:19092", ("broker-1", 19092)),
        ("[::1]:9093", ("::1", 9093)),
        ("kafka", ("kafka", 5672)),
    ],
)
def test_host_port(address: str, expected: tuple[str, int]) -> None:
    assert services.host_port(address, 5672) == expected
