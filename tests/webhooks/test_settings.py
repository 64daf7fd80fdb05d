"""Webhook settings: the tests' allow-list cannot reach production or a private network."""

import base64
import os

import pytest
from pydantic import ValidationError

from commerce.config import Settings
from commerce.config_webhooks import WebhookSettings

pytestmark = pytest.mark.unit


def test_the_allow_list_is_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="for tests"):
        Settings(
            environment="production", webhooks=WebhookSettings(allow_networks=["127.0.0.1/32"])
        )


@pytest.mark.parametrize("network", ["10.0.0.0/8", "169.254.169.254/32", "0.0.0.0/0", "::/0"])
def test_only_loopback_networks_may_be_allow_listed(network: str) -> None:
    with pytest.raises(ValidationError, match="loopback"):
        WebhookSettings(allow_networks=[network])


def test_encryption_keys_are_read_by_id_and_never_shown() -> None:
    raw = os.urandom(32)
    encoded = base64.b64encode(raw).decode()
    settings = WebhookSettings.model_validate({"encryption_keys": [f"3:{encoded}"]})
    assert settings.decoded_keys() == {3: raw}
    assert encoded not in repr(settings)
    with pytest.raises(ValidationError, match="32 bytes"):
        WebhookSettings.model_validate({"encryption_keys": ["1:c2hvcnQ="]})
