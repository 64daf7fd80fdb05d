"""``.env.example`` documents every setting, and nothing that does not exist."""

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from commerce.config import Settings
from tests.support.paths import REPOSITORY

pytestmark = pytest.mark.unit

EXAMPLE = REPOSITORY / ".env.example"


def _variables(model: type[BaseModel], prefix: str) -> set[str]:
    names: set[str] = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names |= _variables(annotation, f"{prefix}{name.upper()}__")
        else:
            names.add(f"{prefix}{name.upper()}")
    return names


def test_every_setting_is_documented_and_every_documented_one_exists() -> None:
    documented = set(re.findall(r"^(COMMERCE_[A-Z0-9_]+)=", EXAMPLE.read_text(), re.MULTILINE))
    assert documented == _variables(Settings, "COMMERCE_")


def test_the_example_loads_as_valid_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("COMMERCE_"):
            monkeypatch.delenv(name)
    (tmp_path / ".env").write_text(EXAMPLE.read_text())
    monkeypatch.chdir(tmp_path)
    assert Settings().broker.url.get_secret_value().startswith("amqp://")
