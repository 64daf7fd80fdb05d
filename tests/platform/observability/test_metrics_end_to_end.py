"""The operator's view of metrics, end to end with ``commerce`` processes: ``/metrics``
after commands, a retry, a dead letter (counted in the store too) and cached queries
(names, labelled series, and ``promtool check metrics``), and the standalone relay's
metrics port."""

from pathlib import Path
from uuid import UUID, uuid4

import httpx
import pytest

from commerce.bootstrap.operators import query_client
from commerce.config import BrokerTransport, Settings
from commerce.identity.messages.channels import REGISTER_USER, USER_DIRECTORY
from commerce.identity.messages.commands import RegisterUser
from commerce.identity.messages.queries import GetUserV1
from commerce.platform.messaging.envelope import Envelope, HeaderStyle
from tests.support.brokers import probe_for
from tests.support.database import ProvisionedDatabase
from tests.support.exposed_metrics import samples
from tests.support.observed import commerce, environment, get_until, publish_register_user
from tests.support.promtool import promtool_check_metrics
from tests.support.tansu import free_port
from tests.support.worker import settings_for

pytestmark = pytest.mark.e2e

SERVICE_METRICS = (
    "commerce_commands_processed_total",
    "commerce_handler_duration_seconds",
    "commerce_inbox_duplicates_total",
    "commerce_retries_total",
    "commerce_dead_letters_total",
    "commerce_relay_published_messages_total",
    "commerce_outbox_backlog_messages",
    "commerce_outbox_oldest_unsent_age_seconds",
    "commerce_dead_letters_unresolved",
    "commerce_parked_holds",
    "commerce_projection_lag_seconds",
    "commerce_cache_requests_total",
    "faststream_received_messages_total",
    "faststream_received_processed_messages_duration_seconds",
    "faststream_published_messages_total",
)


async def _dead_letter(settings: Settings) -> None:
    """Send ``RegisterUser`` a body that is not JSON: it goes straight to the DLQ."""
    kafka = settings.broker.transport is BrokerTransport.KAFKA
    style = HeaderStyle.KAFKA if kafka else HeaderStyle.RABBIT
    envelope = Envelope.new(
        type=RegisterUser.message_type, source="/tests", tenant_id=uuid4(), subject="undecodable"
    )
    headers = envelope.headers(style) | {"content-type": "application/json"}
    probe = await probe_for(settings)
    try:
        await probe.send_command(REGISTER_USER.name, b"\xff{not json", headers, key="undecodable")
    finally:
        await probe.close()


async def _ask_twice(settings: Settings, tenant: str, user: str) -> None:
    """Ask for the user twice: the first answer fills the cache, the second comes from it."""
    async with query_client(settings) as client:
        for _ in range(2):
            await client.ask(GetUserV1(user_id=UUID(user)), tenant_id=UUID(tenant), within=30)


def _value(metrics: str, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels``."""
    return sum(samples(metrics, name, **labels))


async def test_metrics_after_commands_a_retry_a_dead_letter_and_cached_queries_pass_promtool(
    provisioned_database: ProvisionedDatabase, broker_url: str, tmp_path: Path
) -> None:
    """promtool lints the exposition once every labelled series of ours has samples: each
    message's first attempt fails (fault injection) and is retried, a body that is not
    JSON is dead-lettered, and a query is answered from the database and then the cache."""
    settings = settings_for(provisioned_database, broker_url)
    settings.http.port = free_port()
    url = f"http://127.0.0.1:{settings.http.port}"
    consumer = REGISTER_USER.consumer
    env = environment(
        settings,
        COMMERCE_CHAOS__TRANSIENT_FAILURE_RATE="1.0",
        COMMERCE_SIGNALS__REFRESH_INTERVAL_SECONDS="0.5",
    )

    def projected(body: str) -> bool:
        return (
            _value(body, "commerce_commands_processed_total", consumer=consumer, outcome="applied")
            >= 1
            and _value(body, "commerce_relay_published_messages_total") >= 1
            and _value(
                body,
                "commerce_commands_processed_total",
                consumer=USER_DIRECTORY.consumer,
                outcome="applied",
            )
            >= 1
            and _value(body, "commerce_dead_letters_total", reason="undecodable") >= 1
            # archived in the store and counted from it as waiting for an operator
            and _value(body, "commerce_dead_letters_unresolved", consumer=consumer) >= 1
        )

    def cached(body: str) -> bool:
        return all(
            _value(body, "commerce_cache_requests_total", result=result) >= 1
            for result in ("hit", "miss")
        )

    async with commerce(["run", "all"], env, tmp_path) as worker:
        await get_until(f"{url}/ready", worker, until=lambda body: '"ready"' in body, timeout=60)
        tenant, user = publish_register_user(worker.env)
        await _dead_letter(settings)
        await get_until(f"{url}/metrics", worker, until=projected, timeout=120)
        await _ask_twice(settings, tenant, user)
        body = await get_until(f"{url}/metrics", worker, until=cached, timeout=60)
        async with httpx.AsyncClient(timeout=5) as client:
            response = await client.get(f"{url}/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    for name in SERVICE_METRICS:
        assert f"# TYPE {name} " in body, name
    assert _value(body, "commerce_handler_duration_seconds_count", consumer=consumer) >= 1
    assert _value(body, "faststream_published_messages_total", status="success") >= 1
    injected = "commerce.platform.delivery.chaos.InjectedTransientFault"
    assert _value(body, "commerce_retries_total", consumer=consumer, reason=injected) >= 1
    assert _value(body, "commerce_dead_letters_total", consumer=consumer) >= 1
    stream = USER_DIRECTORY.stream.name
    assert _value(body, "commerce_relay_last_published_timestamp_seconds", stream=stream) > 0
    applied = "commerce_projection_last_applied_timestamp_seconds"
    assert _value(body, applied, projection=USER_DIRECTORY.consumer, stream=stream) > 0
    assert promtool_check_metrics(body.encode()) == ""


async def test_a_standalone_relay_serves_metrics_on_its_own_port(
    provisioned_database: ProvisionedDatabase, rabbit_url: str, tmp_path: Path
) -> None:
    settings = settings_for(provisioned_database, rabbit_url)
    port = free_port()
    env = environment(settings, COMMERCE_RELAY__METRICS_PORT=str(port))
    async with commerce(["run", "relay"], env, tmp_path) as relay:
        body = await get_until(
            f"http://127.0.0.1:{port}/metrics",
            relay,
            until=lambda body: "\ncommerce_outbox_backlog_messages " in body,
        )
    assert "\ncommerce_outbox_oldest_unsent_age_seconds " in body
    assert promtool_check_metrics(body.encode()) == ""
