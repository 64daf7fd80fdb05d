"""Ports of the webhooks context: the secret cipher, the resolver and the HTTP sender."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from commerce.webhooks.domain.addresses import IpAddress
from commerce.webhooks.domain.outcomes import Attempt
from commerce.webhooks.domain.signing import SigningSecret

__all__ = ["HostResolver", "SecretCipher", "WebhookSender"]


class SecretCipher(Protocol):
    """Encrypts signing secrets at rest; ``associated`` (the endpoint id) binds a ciphertext
    to its row, so a ciphertext copied onto another endpoint does not decrypt."""

    def encrypt(self, secret: SigningSecret, associated: bytes) -> bytes:
        """The stored form of ``secret`` (key id, nonce and ciphertext)."""
        ...

    def decrypt(self, stored: bytes, associated: bytes) -> SigningSecret:
        """The secret of a stored form; raises when it was tampered with or the key is gone."""
        ...


class HostResolver(Protocol):
    """Turns a host name into addresses (the real DNS, or a stub in tests)."""

    async def resolve(self, host: str, port: int) -> list[IpAddress]:
        """Every address of ``host``; an empty list when it has none."""
        ...


class WebhookSender(Protocol):
    """Sends one signed webhook request and reports the attempt; never raises for the
    receiver's faults (refused connection, timeout, bad status): they are the attempt."""

    async def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> Attempt:
        """POST ``body`` with ``headers`` to ``url``; the SSRF rule is checked at connect."""
        ...
