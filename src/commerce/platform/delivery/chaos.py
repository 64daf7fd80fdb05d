"""Fault injection for resilience drills: make a share of messages fail transiently.

Off unless ``COMMERCE_CHAOS__TRANSIENT_FAILURE_RATE`` is above zero. The choice depends
only on the message id, so a drill is reproducible. Most chosen messages fail their first
attempt in a process, so an immediate retry recovers them. A quarter of them
(:meth:`FaultInjector.lasting`) fail every attempt that follows their previous failure
within :data:`REDELIVERY_GAP`, that is every immediate retry, whatever a consumer's
policy: only a delayed redelivery through the broker, which comes later, recovers them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from uuid import UUID

__all__ = ["LASTING_SHARE", "REDELIVERY_GAP", "FaultInjector", "InjectedTransientFault"]

LASTING_SHARE = 0.25
"""The share of chosen messages whose failure outlasts the immediate retries."""
REDELIVERY_GAP = 0.25
"""Seconds after a failed attempt from which a lasting message's next attempt passes.

Longer than the pause between immediate retries (they follow at once), shorter than any
consumer's first delayed redelivery."""

_SCALE = 10_000


class InjectedTransientFault(ConnectionError):
    """A deliberate, transient failure (a dependency 'blipped')."""


class FaultInjector:
    """Fails the first attempts of about ``rate`` of all messages, by message id.

    ``clock``: monotonic seconds, to tell an immediate retry from a redelivery.
    """

    def __init__(self, rate: float = 0.0, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"failure rate must be within [0, 1], got {rate}")
        self._threshold = int(rate * _SCALE)
        self._clock = clock
        self._failed_at: dict[UUID, float] = {}
        self._recovered: set[UUID] = set()

    @staticmethod
    def _digest(message_id: UUID) -> int:
        return int.from_bytes(hashlib.blake2b(message_id.bytes, digest_size=4).digest())

    def chosen(self, message_id: UUID) -> bool:
        """Whether ``message_id`` belongs to the failing share."""
        return self._digest(message_id) % _SCALE < self._threshold

    def lasting(self, message_id: UUID) -> bool:
        """Whether ``message_id`` is chosen and fails past the immediate retries."""
        digest = self._digest(message_id)
        lasting = digest // _SCALE % _SCALE < LASTING_SHARE * _SCALE
        return lasting and digest % _SCALE < self._threshold

    def before_handling(self, message_id: UUID) -> None:
        """Raise :class:`InjectedTransientFault` while a chosen message is still failing."""
        if not self._threshold or message_id in self._recovered or not self.chosen(message_id):
            return
        now = self._clock()
        failed_at = self._failed_at.get(message_id)
        if failed_at is not None and (
            not self.lasting(message_id) or now - failed_at >= REDELIVERY_GAP
        ):
            del self._failed_at[message_id]
            self._recovered.add(message_id)
            return
        self._failed_at[message_id] = now
        raise InjectedTransientFault(f"injected transient fault for message {message_id}")
