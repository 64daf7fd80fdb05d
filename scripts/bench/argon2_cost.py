"""argon2id measured apart from the pipeline: µs per hash at the service's default
parameters and at the bench's (:data:`scripts.bench.infra.CHEAP_PASSWORDS`), in this
process, one hash at a time (the worker hashes in a thread, one call per password)."""

from __future__ import annotations

import time

from argon2 import PasswordHasher
from scripts.bench.infra import CHEAP_PASSWORDS
from scripts.bench.messages import PASSWORD

from commerce.config import PasswordHashingSettings

__all__ = ["argon2_figures", "microseconds_per_hash"]


def microseconds_per_hash(settings: PasswordHashingSettings, *, seconds: float = 0.5) -> float:
    """Wall-clock µs of one hash with ``settings``, averaged over about ``seconds`` (≥ 2)."""
    hasher = PasswordHasher(
        memory_cost=settings.memory_kib,
        time_cost=settings.time_cost,
        parallelism=settings.parallelism,
    )
    hasher.hash(PASSWORD)  # warm up (allocator, first call)
    count, started = 0, time.perf_counter()
    while count < 2 or time.perf_counter() - started < seconds:
        hasher.hash(PASSWORD)
        count += 1
    return (time.perf_counter() - started) / count * 1e6


def argon2_figures() -> list[tuple[str, str, float]]:
    """The two figures: default parameters and the bench's."""
    return [
        ("argon2 default", "µs/hash", microseconds_per_hash(PasswordHashingSettings())),
        ("argon2 bench", "µs/hash", microseconds_per_hash(CHEAP_PASSWORDS)),
    ]
