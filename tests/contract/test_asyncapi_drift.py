"""The committed AsyncAPI documents are checked against the code."""

from pathlib import Path

import pytest

from commerce.entrypoints.cli.actions import export_asyncapi
from tests.support.paths import REPOSITORY

pytestmark = pytest.mark.unit


def test_the_committed_documents_match_the_code() -> None:
    assert export_asyncapi(REPOSITORY / "asyncapi", check=True) == []


def test_a_changed_document_is_reported_stale_and_check_writes_nothing(tmp_path: Path) -> None:
    assert export_asyncapi(tmp_path, check=False) != []
    assert export_asyncapi(tmp_path, check=True) == []
    stale = tmp_path / "rabbitmq.yaml"
    stale.write_text(stale.read_text().replace("RegisterUser", "RegisterUsr"))
    assert export_asyncapi(tmp_path, check=True) == [stale]
    assert "RegisterUsr" in stale.read_text(), "--check must not rewrite the file"


def test_a_payload_model_change_makes_the_committed_documents_stale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from commerce.identity.messages.commands import RegisterUser

    field = RegisterUser.model_fields["display_name"]
    monkeypatch.setattr(field, "description", "A description the documents do not have.")
    RegisterUser.model_rebuild(force=True)
    try:
        stale = export_asyncapi(REPOSITORY / "asyncapi", check=True)
    finally:
        monkeypatch.undo()
        RegisterUser.model_rebuild(force=True)
    assert REPOSITORY / "asyncapi" / "rabbitmq.yaml" in stale


def test_the_local_environment_and_dotenv_do_not_change_the_export(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Variables and a ``.env`` that change the service's settings leave the documents as
    committed: they are built from the code's defaults alone."""
    from commerce.config import Settings

    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("COMMERCE_SERVICE_NAME=from-dotenv\n")
    monkeypatch.setenv("COMMERCE_ENVIRONMENT", "test")
    monkeypatch.setenv("COMMERCE_BROKER__NAMESPACE", "staging")
    monkeypatch.setenv("COMMERCE_BROKER__PARTITIONS", "7")
    monkeypatch.setenv("COMMERCE_BROKER__URL", "kafka://elsewhere:9092")
    read = Settings()
    assert (read.environment, read.broker.namespace, read.service_name) == (
        "test",
        "staging",
        "from-dotenv",
    ), "the variables and .env are in effect for the service's own settings"
    assert export_asyncapi(REPOSITORY / "asyncapi", check=True) == []
