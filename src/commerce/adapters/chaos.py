"""Fault injection for resilience drills: make a share of messages fail transiently.

Off unless ``COMMERCE_CHAOS__TRANSIENT_FAILURE_RATE`` is above zero. The choice depends
only on the message id, so a drill is reproducible. Most chosen messages fail their first
attempt once per process, so an immediate retry recovers them; a quarter of them
(:meth:`FaultInjector.lasting`) fail :data:`LASTING_FAILURES` attempts per process, more
than the default policy's immediate retries, so only a delayed redelivery through the
broker recovers them.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from commerce.messages.channels import DEFAULT_RETRY

__all__ = ["LASTING_FAILURES", "LASTING_SHARE", "FaultInjector", "InjectedTransientFault"]

LASTING_SHARE = 0.25
"""The share of chosen messages whose failure outlasts the immediate retries."""
LASTING_FAILURES = DEFAULT_RETRY.immediate + 1
"""How many attempts of a lasting message fail in one process: its first delivery's all."""

_SCALE = 10_000


class InjectedTransientFault(ConnectionError):
    """A deliberate, transient failure (a dependency 'blipped')."""


class FaultInjector:
    """Fails the first attempts of about ``rate`` of all messages, by message id."""

    def __init__(self, rate: float = 0.0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"failure rate must be within [0, 1], got {rate}")
        self._threshold = int(rate * _SCALE)
        self._failures: dict[UUID, int] = {}

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
        """Raise :class:`InjectedTransientFault` while a chosen message has failures left."""
        if not self._threshold or not self.chosen(message_id):
            return
        failed = self._failures.get(message_id, 0)
        if failed < (LASTING_FAILURES if self.lasting(message_id) else 1):
            self._failures[message_id] = failed + 1
            raise InjectedTransientFault(
                f"injected transient fault for message {message_id} (attempt {failed + 1})"
            )
