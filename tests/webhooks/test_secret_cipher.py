"""AES-GCM encryption of signing secrets at rest, with key rotation."""

import os
from uuid import uuid4

import pytest

from commerce.webhooks.adapters.secret_cipher import AesGcmSecretCipher
from commerce.webhooks.domain.errors import InvalidSecret
from commerce.webhooks.domain.signing import SigningSecret

pytestmark = pytest.mark.unit


def test_a_secret_round_trips_and_its_bytes_are_not_stored_in_clear() -> None:
    cipher = AesGcmSecretCipher({1: os.urandom(32)})
    secret, endpoint = SigningSecret.generate(), uuid4().bytes
    stored = cipher.encrypt(secret, endpoint)
    assert secret.key not in stored
    assert cipher.decrypt(stored, endpoint) == secret


def test_a_ciphertext_moved_to_another_endpoint_does_not_decrypt() -> None:
    cipher = AesGcmSecretCipher({1: os.urandom(32)})
    stored = cipher.encrypt(SigningSecret.generate(), uuid4().bytes)
    with pytest.raises(InvalidSecret):
        cipher.decrypt(stored, uuid4().bytes)


def test_after_a_key_rotation_old_rows_decrypt_and_new_ones_use_the_new_key() -> None:
    old_key, new_key = os.urandom(32), os.urandom(32)
    secret, endpoint = SigningSecret.generate(), uuid4().bytes
    stored = AesGcmSecretCipher({1: old_key}).encrypt(secret, endpoint)
    rotated = AesGcmSecretCipher({1: old_key, 2: new_key})
    assert rotated.decrypt(stored, endpoint) == secret
    assert rotated.needs_reencryption(stored)
    assert rotated.encrypt(secret, endpoint)[0] == 2
    with pytest.raises(InvalidSecret, match="no longer configured"):
        AesGcmSecretCipher({2: new_key}).decrypt(stored, endpoint)
