"""Fault injection for resilience drills: make a share of first attempts fail transiently.

Off unless ``COMMERCE_CHAOS__TRANSIENT_FAILURE_RATE`` is above zero. The choice depends
only on the message id, so a drill is reproducible, and each chosen message fails once per
process, so the retry policy must recover it.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

__all__ = ["FaultInjector", "InjectedTransientFault"]


class InjectedTransientFault(ConnectionError):
    """A deliberate, transient failure (a dependency 'blipped')."""


class FaultInjector:
    """Fails the first attempt of about ``rate`` of all messages, by message id."""

    def __init__(self, rate: float = 0.0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"failure rate must be within [0, 1], got {rate}")
        self._threshold = int(rate * 10_000)
        self._failed: set[UUID] = set()

    def chosen(self, message_id: UUID) -> bool:
        """Whether ``message_id`` belongs to the failing share."""
        digest = hashlib.blake2b(message_id.bytes, digest_size=4).digest()
        return int.from_bytes(digest) % 10_000 < self._threshold

    def before_handling(self, message_id: UUID) -> None:
        """Raise :class:`InjectedTransientFault` on a chosen message's first attempt."""
        if self._threshold and message_id not in self._failed and self.chosen(message_id):
            self._failed.add(message_id)
            raise InjectedTransientFault(f"injected transient fault for message {message_id}")
