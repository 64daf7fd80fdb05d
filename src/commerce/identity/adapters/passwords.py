"""Argon2id password hashing (argon2-cffi), run off the event loop."""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    """:class:`PasswordHasher` with argon2id (RFC 9106 defaults)."""

    def __init__(
        self, *, memory_kib: int = 65_536, time_cost: int = 3, parallelism: int = 4
    ) -> None:
        self._hasher = PasswordHasher(
            memory_cost=memory_kib, time_cost=time_cost, parallelism=parallelism
        )

    async def hash(self, password: str) -> str:
        """Hash in a worker thread: argon2 is deliberately slow and memory-hard."""
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """Whether ``password`` matches; malformed hashes simply do not match."""
        try:
            return await asyncio.to_thread(self._hasher.verify, password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
