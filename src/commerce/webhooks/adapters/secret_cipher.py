"""AES-256-GCM encryption of webhook signing secrets, with rotatable keys.

The stored form is ``key id (1 byte) | nonce (12 bytes) | ciphertext+tag``. The newest key
encrypts; every configured key decrypts, so rotating the key is: add the new key with a
higher id, let :func:`reencrypt` (or natural rotation of the secrets) move rows over, then
drop the old key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from commerce.webhooks.domain.errors import InvalidSecret
from commerce.webhooks.domain.signing import SigningSecret

__all__ = ["AesGcmSecretCipher"]

NONCE_BYTES = 12


class AesGcmSecretCipher:
    """A :class:`~commerce.webhooks.application.ports.SecretCipher` over AES-256-GCM keys."""

    def __init__(self, keys: Mapping[int, bytes]) -> None:
        if not keys:
            raise ValueError("webhook secrets need at least one encryption key")
        for key_id, key in keys.items():
            if not 0 <= key_id <= 255 or len(key) != 32:
                raise ValueError("a webhook encryption key has an id 0-255 and 32 bytes")
        self._keys = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self._current = max(keys)

    def encrypt(self, secret: SigningSecret, associated: bytes) -> bytes:
        """Encrypt with the newest key and a fresh random nonce."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._keys[self._current].encrypt(nonce, secret.key, associated)
        return bytes([self._current]) + nonce + sealed

    def decrypt(self, stored: bytes, associated: bytes) -> SigningSecret:
        """Decrypt with the key the stored form names."""
        key = self._keys.get(stored[0]) if stored else None
        if key is None:
            raise InvalidSecret("a webhook secret was encrypted with a key no longer configured")
        nonce, sealed = stored[1 : 1 + NONCE_BYTES], stored[1 + NONCE_BYTES :]
        try:
            return SigningSecret(key.decrypt(nonce, sealed, associated))
        except InvalidTag as error:
            raise InvalidSecret("a stored webhook secret does not decrypt") from error

    def needs_reencryption(self, stored: bytes) -> bool:
        """Whether ``stored`` was sealed with a key older than the newest."""
        return not stored or stored[0] != self._current
