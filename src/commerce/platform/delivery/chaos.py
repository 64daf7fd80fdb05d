"""Fault injection for resilience drills: make a share of messages fail transiently.

Off unless ``COMMERCE_CHAOS__TRANSIENT_FAILURE_RATE`` is above zero. The choice depends
only on the message id, so a drill is reproducible. Most chosen messages fail their first
attempt in a process, so an immediate retry recovers them. A quarter of them
(:meth:`FaultInjector.lasting`) fail every attempt of the delivery that first failed, that
is every immediate retry, whatever a consumer's policy and however long a retry waits: only
a new delivery through the broker (a delayed redelivery, or the broker delivering an
unacked message again) recovers them. The failure policy tells which attempt of its
delivery a handler runs (:data:`delivery_attempt`).
"""

from __future__ import annotations

import hashlib
from contextvars import ContextVar
from uuid import UUID

__all__ = ["LASTING_SHARE", "FaultInjector", "InjectedTransientFault", "delivery_attempt"]

LASTING_SHARE = 0.25
"""The share of chosen messages whose failure outlasts the immediate retries."""

delivery_attempt: ContextVar[int] = ContextVar("commerce_delivery_attempt", default=1)
"""Which attempt of the current broker delivery the handler runs: 1, then each immediate
retry (set by the consumer's failure policy, :mod:`commerce.platform.delivery.redelivery`)."""

_SCALE = 10_000


class InjectedTransientFault(ConnectionError):
    """A deliberate, transient failure (a dependency 'blipped')."""


class FaultInjector:
    """Fails the first attempts of about ``rate`` of all messages, by message id."""

    def __init__(self, rate: float = 0.0) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"failure rate must be within [0, 1], got {rate}")
        self._threshold = int(rate * _SCALE)
        self._failed: set[UUID] = set()
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
        if message_id in self._failed and (
            not self.lasting(message_id) or delivery_attempt.get() == 1
        ):
            self._failed.discard(message_id)
            self._recovered.add(message_id)
            return
        self._failed.add(message_id)
        raise InjectedTransientFault(f"injected transient fault for message {message_id}")
