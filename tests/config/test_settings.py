"""Settings: environment names, secrets, transport choice and clear failures."""

from pathlib import Path

import pytest

from commerce.config import BrokerTransport, InvalidSettingsError, Settings, load_settings

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
