"""argon2id hashing with configurable cost."""

import pytest
from argon2 import extract_parameters

from commerce.identity.adapters.passwords import Argon2PasswordHasher

pytestmark = pytest.mark.unit


async def test_hashes_are_argon2id_with_the_configured_cost_and_verify() -> None:
    hasher = Argon2PasswordHasher(memory_kib=1024, time_cost=1, parallelism=1)
    hashed = await hasher.hash("correct horse battery staple")
    parameters = extract_parameters(hashed)
    assert hashed.startswith("$argon2id$")
    assert (parameters.memory_cost, parameters.time_cost) == (1024, 1)
    assert await hasher.verify(hashed, "correct horse battery staple")
    assert not await hasher.verify(hashed, "Correct horse battery staple")


async def test_the_same_password_hashes_differently_each_time() -> None:
    hasher = Argon2PasswordHasher(memory_kib=1024, time_cost=1, parallelism=1)
    assert await hasher.hash("pw-123456789012") != await hasher.hash("pw-123456789012")


async def test_a_malformed_hash_does_not_match_rather_than_crash() -> None:
    assert not await Argon2PasswordHasher().verify("not-a-hash", "anything")
