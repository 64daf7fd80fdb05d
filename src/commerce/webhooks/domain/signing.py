"""Standard Webhooks 1.0 signatures: ``v1,<base64 HMAC-SHA256 of id.timestamp.body>``.

The signed content is ``{webhook-id}.{webhook-timestamp}.{body}`` over the exact body bytes
sent. During a key rotation every live key signs, and ``webhook-signature`` is the
space-separated list, so a receiver holding either key verifies.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from commerce.webhooks.domain.errors import InvalidSecret

__all__ = [
    "SECRET_PREFIX",
    "SigningSecret",
    "WebhookHeaders",
    "sign",
    "signature_of",
    "webhook_headers",
]

SECRET_PREFIX = "whsec_"  # noqa: S105 (the prefix, not a secret)
MIN_SECRET_BYTES = 24
MAX_SECRET_BYTES = 64


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """One endpoint signing key: 24 to 64 random bytes, shown as ``whsec_<base64>``.

    ``repr`` never shows the key, so a secret in a log line or a traceback stays hidden.
    """

    key: bytes

    def __post_init__(self) -> None:
        if not MIN_SECRET_BYTES <= len(self.key) <= MAX_SECRET_BYTES:
            raise InvalidSecret(
                f"a webhook secret has {MIN_SECRET_BYTES} to {MAX_SECRET_BYTES} bytes, "
                f"not {len(self.key)}"
            )

    @classmethod
    def generate(cls, size: int = 32) -> SigningSecret:
        """A fresh random secret of ``size`` bytes (default 32)."""
        return cls(secrets.token_bytes(size))

    @classmethod
    def parse(cls, text: str) -> SigningSecret:
        """Read ``whsec_<base64>``; raise :class:`InvalidSecret` on anything else."""
        if not text.startswith(SECRET_PREFIX):
            raise InvalidSecret(f"a webhook secret starts with {SECRET_PREFIX!r}")
        try:
            key = base64.b64decode(text.removeprefix(SECRET_PREFIX), validate=True)
        except (binascii.Error, ValueError) as error:
            raise InvalidSecret("a webhook secret is base64 after its prefix") from error
        return cls(key)

    def reveal(self) -> str:
        """The secret as ``whsec_<base64>``, for the receiver (and only for it)."""
        return SECRET_PREFIX + base64.b64encode(self.key).decode("ascii")

    def __repr__(self) -> str:
        return "SigningSecret(<hidden>)"


def signature_of(secret: SigningSecret, message_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64>`` signature of ``message_id.timestamp.body`` with ``secret``."""
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret.key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def sign(keys: Sequence[SigningSecret], message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: every live key's signature, space-separated."""
    if not keys:
        raise InvalidSecret("a webhook is signed with at least one key")
    return " ".join(signature_of(key, message_id, timestamp, body) for key in keys)


type WebhookHeaders = dict[str, str]


def webhook_headers(
    keys: Sequence[SigningSecret], message_id: str, timestamp: int, body: bytes
) -> WebhookHeaders:
    """The three Standard Webhooks headers of one delivery of ``body``."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(keys, message_id, timestamp, body),
    }
