"""Errors of the webhooks context: expected refusals, reported to the sender."""

from __future__ import annotations

from commerce.platform.kit.errors import InvalidValue

__all__ = ["InvalidSecret", "InvalidWebhookUrl", "RefusedAddress"]


class InvalidWebhookUrl(InvalidValue):
    """The endpoint URL is not an absolute ``http``/``https`` URL with a host."""

    code = "invalid_webhook_url"


class RefusedAddress(InvalidValue):
    """The endpoint's host is, or resolves to, an address webhooks may not reach (SSRF)."""

    code = "webhook_address_refused"


class InvalidSecret(InvalidValue):
    """A signing secret is not ``whsec_`` followed by base64 of 24 to 64 bytes."""

    code = "invalid_webhook_secret"
