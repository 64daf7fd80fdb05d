"""Log lines are JSON objects, carry the exception, and never a secret."""

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from pydantic import SecretStr

from commerce.config import DatabaseSettings, Settings
from commerce.platform.observability.logging import configure_logging
from commerce.platform.observability.redaction import MASK, Redactor, secrets_in

pytestmark = pytest.mark.unit

SECRET = "s3cr3t-unit-7f1c"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    """Put the logging configuration back after a test that configures it."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.configure(**config)


def _lines(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_a_url_password_is_masked_even_when_never_registered() -> None:
    redactor = Redactor()
    text = "connect to postgresql+asyncpg://app:hunter2!@db:5432/x failed; amqp://u:p%40ss@mq/"
    masked = redactor.text(text)
    assert "hunter2" not in masked
    assert "p%40ss" not in masked
    assert f"postgresql+asyncpg://app:{MASK}@db:5432/x" in masked


def test_registered_secrets_are_masked_raw_and_percent_decoded() -> None:
    redactor = Redactor()
    redactor.register(["postgresql://app:pa%24%24word-9@db/x", "redis://cache:6379/0", "api-key-1"])
    assert redactor.text("pa$$word-9 pa%24%24word-9 api-key-1") == f"{MASK} {MASK} {MASK}"
    address = "redis://cache:6379/0"
    assert redactor.text(address) == address, "an address is no secret"


def test_secrets_in_finds_every_secret_setting() -> None:
    settings = Settings(
        database=DatabaseSettings(url=SecretStr(f"postgresql://app:{SECRET}@db/x"), admin_url=None)
    )
    assert f"postgresql://app:{SECRET}@db/x" in secrets_in(settings)
    assert settings.broker.url.get_secret_value() in secrets_in(settings)


@pytest.mark.usefixtures("restored_logging")
def test_lines_are_json_with_the_exception_and_without_the_secret(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Configured here, not in a fixture: the handler binds the sys.stdout capsys replaces.
    configure_logging(level="INFO", json_output=True, secrets=[f"postgresql://app:{SECRET}@db/x"])
    log = structlog.get_logger("test.redaction")
    try:
        raise ConnectionError(f"could not connect to postgresql://app:{SECRET}@db/x")
    except ConnectionError:
        log.exception("database down", dsn=f"postgresql://app:{SECRET}@db/x", attempt=1)
    stdlib = logging.getLogger("sqlalchemy.pool")
    try:
        raise OSError(f"password {SECRET} refused")
    except OSError:
        stdlib.exception("pool reset failed for %s", f"app:{SECRET}@db")
    output = capsys.readouterr().out
    assert SECRET not in output
    structured, foreign = _lines(output)
    assert structured["event"] == "database down"
    assert structured["level"] == "error"
    assert structured["dsn"] == f"postgresql://app:{MASK}@db/x"
    assert "ConnectionError" in str(structured["exception"])
    assert foreign["logger"] == "sqlalchemy.pool"
    assert "OSError" in str(foreign["exception"])
    assert foreign["event"] == f"pool reset failed for app:{MASK}@db"
