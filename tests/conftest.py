"""Session fixtures for the real services; see ``tests/support/services.py`` for resolution."""

import asyncio
from collections.abc import AsyncIterator, Generator, Iterator
from contextlib import ExitStack

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.postgres.engine import create_engine
from commerce.platform.postgres.provisioning import drop_database
from tests.support.database import ProvisionedDatabase, provision_and_migrate, unique_database_name
from tests.support.namespaces import remove_issued_namespaces
from tests.support.services import KAFKA, POSTGRES, RABBIT, REDIS, ServiceSpec, resolve
from tests.support.tansu import TansuBroker

__all__ = [
    "admin_engine",
    "app_engine",
    "kafka_bootstrap",
    "owner_engine",
    "postgres_admin_url",
    "provisioned_database",
    "pytest_collection_modifyitems",
    "pytest_runtest_makereport",
    "rabbit_url",
    "redis_url",
    "relay_engine",
]


KINDS = ("unit", "property", "contract", "integration", "e2e", "performance")
"""The kinds of test, one a marker: folders say what a test exercises, markers what it needs."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Refuse the collection when a test carries none of the kind markers.

    Runs before ``-m`` deselects anything, so a test without a kind cannot slip through a
    run that selects by kind (and would then never run in any).
    """
    unmarked = sorted(
        {
            item.nodeid.split("::", 1)[0]
            for item in items
            if not any(item.get_closest_marker(kind) for kind in KINDS)
        }
    )
    if unmarked:
        kinds = ", ".join(KINDS)
        listed = "\n".join(f"  {path}" for path in unmarked)
        raise pytest.UsageError(
            f"every test needs one kind marker ({kinds}); give these modules a "
            f"`pytestmark = pytest.mark.<kind>`:\n{listed}"
        )


def _serve(spec: ServiceSpec) -> Iterator[str]:
    with ExitStack() as stack:
        yield resolve(spec, stack)


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """A superuser DSN, ``postgresql://postgres@127.0.0.1:5432/postgres`` by default."""
    yield from _serve(POSTGRES)


@pytest.fixture(scope="session")
def rabbit_url() -> Iterator[str]:
    """An AMQP URL, ``amqp://guest:guest@127.0.0.1:5672/`` by default.

    When the session ends, the queues and exchanges of the namespaces it handed out go.
    """
    for url in _serve(RABBIT):
        yield url
        asyncio.run(remove_issued_namespaces(url))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A Redis URL, ``redis://127.0.0.1:6379/0`` by default."""
    yield from _serve(REDIS)


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """A Kafka ``host:port``; by default a Tansu broker living for the session."""
    yield from _serve(KAFKA)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the log of every running Tansu broker to a failed test's report."""
    report = yield
    if report.failed:
        for broker in TansuBroker.running_brokers():
            report.sections.append((f"tansu log {broker.log_path}", broker.log_tail()))
    return report


@pytest.fixture(scope="session")
async def provisioned_database(postgres_admin_url: str) -> AsyncIterator[ProvisionedDatabase]:
    """A database provisioned with the three roles and migrated to head, for the session."""
    name = unique_database_name()
    try:
        yield await provision_and_migrate(postgres_admin_url, name)
    finally:
        await drop_database(postgres_admin_url, name)


async def _engine(url: str, *, pool_size: int) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(url, pool_size=pool_size, application_name="commerce-tests")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def app_engine(provisioned_database: ProvisionedDatabase) -> AsyncIterator[AsyncEngine]:
    async for engine in _engine(provisioned_database.app_url, pool_size=2):
        yield engine


@pytest.fixture
async def relay_engine(provisioned_database: ProvisionedDatabase) -> AsyncIterator[AsyncEngine]:
    async for engine in _engine(provisioned_database.relay_url, pool_size=1):
        yield engine


@pytest.fixture
async def owner_engine(provisioned_database: ProvisionedDatabase) -> AsyncIterator[AsyncEngine]:
    async for engine in _engine(provisioned_database.owner_url, pool_size=1):
        yield engine


@pytest.fixture
async def admin_engine(provisioned_database: ProvisionedDatabase) -> AsyncIterator[AsyncEngine]:
    async for engine in _engine(provisioned_database.admin_url, pool_size=1):
        yield engine


@pytest.fixture(params=["rabbit", "kafka"])
def broker_url(request: pytest.FixtureRequest) -> str:
    """The same test on each transport: an ``amqp://`` or ``kafka://`` URL."""
    if request.param == "rabbit":
        return str(request.getfixturevalue("rabbit_url"))
    return f"kafka://{request.getfixturevalue('kafka_bootstrap')}"
