"""Settings of outbound webhooks (docs/adr/0029-webhooks.md); part of :mod:`commerce.config`."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr, field_validator

__all__ = ["WebhookSettings", "check_webhooks_for"]

SVIX_DELAYS = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)


class WebhookSettings(BaseModel):
    """Delivery, retry, signing and SSRF settings of the webhooks context.

    ``encryption_keys`` are ``<id>:<base64 of 32 bytes>`` (comma-separated in the
    environment); the highest id encrypts, every listed key decrypts (rotation).
    ``allow_networks`` lets the sender reach loopback networks for tests' stub receivers:
    only loopback networks may be listed, and never with ``environment=production``.
    """

    encryption_keys: list[SecretStr] = []
    request_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 15.0
    retry_delays_seconds: list[Annotated[float, Field(gt=0)]] = list(SVIX_DELAYS)
    retry_jitter: Annotated[float, Field(ge=0, lt=1)] = 0.2
    retry_scale: Annotated[float, Field(gt=0, le=1)] = 1.0
    """Every delay times this: 1 in production, smaller in tests (time-scaled schedule)."""
    slow_down_floor_seconds: Annotated[float, Field(ge=0)] = 60.0
    rotation_grace_hours: Annotated[float, Field(ge=0, le=24 * 30)] = 24.0
    disable_after_hours: Annotated[float, Field(gt=0)] = 120.0
    max_payload_bytes: Annotated[int, Field(ge=1024, le=1_048_576)] = 256 * 1024
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 32
    """Deliveries in flight over every endpoint (the webhooks bulkhead)."""
    concurrency_per_endpoint: Annotated[int, Field(ge=1, le=100)] = 4
    allow_networks: list[str] = []

    @field_validator("encryption_keys")
    @classmethod
    def _keys_are_id_and_32_bytes(cls, keys: list[SecretStr]) -> list[SecretStr]:
        for key in keys:
            key_id, _, encoded = key.get_secret_value().partition(":")
            try:
                raw = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError):
                raw = b""
            if not key_id.isdigit() or not 0 <= int(key_id) <= 255 or len(raw) != 32:
                raise ValueError("a webhook encryption key is <id 0-255>:<base64 of 32 bytes>")
        return keys

    @field_validator("allow_networks")
    @classmethod
    def _only_loopback(cls, networks: list[str]) -> list[str]:
        for text in networks:
            network = ipaddress.ip_network(text, strict=False)
            if not (network.network_address.is_loopback and network.broadcast_address.is_loopback):
                raise ValueError(f"only loopback networks may be allow-listed, not {text}")
        return networks

    def decoded_keys(self) -> dict[int, bytes]:
        """The encryption keys by id."""
        keys: dict[int, bytes] = {}
        for key in self.encryption_keys:
            key_id, _, encoded = key.get_secret_value().partition(":")
            keys[int(key_id)] = base64.b64decode(encoded)
        return keys


def check_webhooks_for(environment: str, webhooks: WebhookSettings) -> None:
    """Refuse the tests' allow-list in production, so it cannot be left on by accident."""
    if environment == "production" and webhooks.allow_networks:
        raise ValueError("COMMERCE_WEBHOOKS__ALLOW_NETWORKS is for tests; unset it in production")
