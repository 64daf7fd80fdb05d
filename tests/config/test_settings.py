"""Settings: environment names, secrets, transport choice and clear failures."""

from pathlib import Path

import pytest

from commerce.config import (
    BrokerTransport,
    BulkheadsSettings,
    InvalidSettingsError,
    Settings,
    load_settings,
)
from commerce.registry.channels import CONSUMERS
from commerce.registry.consumer_groups import group_of

pytestmark = pytest.mark.unit


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("COMMERCE_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_nested_variables_use_the_prefix_and_double_underscore(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_BROKER__URL", "kafka://broker-1:9092,broker-2:9092")
    monkeypatch.setenv("COMMERCE_RELAY__BATCH_SIZE", "250")
    settings = load_settings()
    assert settings.broker.transport is BrokerTransport.KAFKA
    assert settings.broker.kafka_bootstrap == "broker-1:9092,broker-2:9092"
    assert settings.relay.batch_size == 250


def test_amqp_url_selects_rabbitmq() -> None:
    assert Settings().broker.transport is BrokerTransport.RABBIT


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("COMMERCE_HTTP__PORT=9123\n")
    assert load_settings().http.port == 9123


def test_secrets_never_appear_in_repr_or_str(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_DATABASE__URL", "postgresql://app:hunter2-secret@db/commerce")
    settings = load_settings()
    assert "hunter2-secret" not in repr(settings)
    assert "hunter2-secret" not in str(settings.model_dump())


def test_invalid_settings_give_one_line_per_problem_without_echoing_values(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_BROKER__URL", "nats://user:topsecret@host:4222")
    monkeypatch.setenv("COMMERCE_HTTP__PORT", "99999")
    monkeypatch.setenv("COMMERCE_LOG__LEVEL", "LOUD")
    with pytest.raises(InvalidSettingsError) as caught:
        load_settings()
    problems = caught.value.problems
    assert len(problems) == 3
    assert any(p.startswith("COMMERCE_BROKER__URL: ") and "amqp://" in p for p in problems)
    assert any(p.startswith("COMMERCE_HTTP__PORT: ") for p in problems)
    assert any(p.startswith("COMMERCE_LOG__LEVEL: ") for p in problems)
    assert "topsecret" not in str(caught.value)


def test_database_urls_must_be_postgres(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COMMERCE_DATABASE__RELAY_URL", "mysql://relay@db/commerce")
    with pytest.raises(InvalidSettingsError) as caught:
        load_settings()
    assert caught.value.problems == [
        "COMMERCE_DATABASE__RELAY_URL: Value error, must be a postgresql:// URL, got scheme 'mysql'"
    ]


def test_one_bulkhead_variable_keeps_the_rest_of_its_groups_defaults(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_BULKHEADS__PROJECTIONS__POOL_SIZE", "12")
    bulkheads = load_settings().bulkheads
    assert bulkheads.projections.pool_size == 12
    assert bulkheads.projections.concurrency == BulkheadsSettings().projections.concurrency
    assert bulkheads.commands == BulkheadsSettings().commands


def test_a_projection_concurrency_beyond_its_pool_is_refused_by_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_BULKHEADS__PROJECTIONS__CONCURRENCY", "50")
    with pytest.raises(InvalidSettingsError) as caught:
        load_settings()
    (problem,) = caught.value.problems
    assert problem.startswith("COMMERCE_BULKHEADS: ")
    assert "projections: concurrency 50 exceeds pool_size + max_overflow (8)" in problem


def test_commands_may_run_more_messages_than_connections_they_share_transactions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COMMERCE_BULKHEADS__COMMANDS__CONCURRENCY", "500")
    monkeypatch.setenv("COMMERCE_BULKHEADS__COMMANDS__POOL_SIZE", "4")
    assert load_settings().bulkheads.commands.concurrency == 500


def test_every_consumer_group_has_its_bulkhead_settings() -> None:
    groups = {group_of(consumer) for consumer in CONSUMERS}
    assert groups <= set(BulkheadsSettings().groups)


def test_the_default_connections_fit_two_workers_and_two_relays_in_postgres_defaults() -> None:
    settings = Settings()
    database = settings.database
    per_worker = database.pool_size + database.max_overflow + settings.bulkheads.connections
    assert 2 * per_worker + 2 * 2 <= 100 - 3  # max_connections - superuser_reserved
