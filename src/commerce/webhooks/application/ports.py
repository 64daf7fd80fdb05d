"""Ports of the webhooks context: the store, the secret cipher, the resolver, the HTTP sender."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from commerce.platform.kit.ids import TenantId
from commerce.webhooks.domain.addresses import IpAddress
from commerce.webhooks.domain.endpoint import Endpoint
from commerce.webhooks.domain.outcomes import Attempt
from commerce.webhooks.domain.signing import SigningSecret

__all__ = [
    "DeliveryRequest",
    "DeliveryStatus",
    "EndpointGuard",
    "EndpointPaused",
    "HostResolver",
    "RecordedAttempt",
    "SecretCipher",
    "WebhookSender",
    "WebhookStore",
]


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


class DeliveryStatus(enum.StrEnum):
    """Where one event's delivery to one endpoint stands."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class DeliveryRequest:
    """One integration event to deliver to one endpoint: ``event_id`` is the ``webhook-id``,
    ``payload`` the exact bytes sent (the event's CloudEvent, structured JSON)."""

    tenant_id: TenantId
    endpoint_id: UUID
    event_id: str
    event_type: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class RecordedAttempt:
    """An attempt as stored: its number, what came back and the verdict taken."""

    number: int
    attempt: Attempt
    verdict: str
    at: datetime


class WebhookStore(Protocol):
    """Endpoints, deliveries and attempts of one tenant (Postgres under row-level security)."""

    async def endpoint(self, tenant_id: TenantId, endpoint_id: UUID) -> Endpoint | None:
        """The endpoint, its secrets decrypted; ``None`` if the tenant has no such endpoint."""
        ...

    async def endpoints(self, tenant_id: TenantId) -> list[Endpoint]:
        """Every endpoint of the tenant, enabled or not."""
        ...

    async def save_endpoint(self, endpoint: Endpoint, now: datetime) -> None:
        """Insert or update ``endpoint`` (secrets encrypted)."""
        ...

    async def open_delivery(
        self, request: DeliveryRequest, now: datetime
    ) -> tuple[DeliveryStatus, int]:
        """The delivery's status and attempts so far, creating it ``pending`` if new (a
        redelivered event finds the row it made the first time)."""
        ...

    async def record(
        self, request: DeliveryRequest, recorded: RecordedAttempt, status: DeliveryStatus
    ) -> None:
        """Store an attempt and move the delivery to ``status``."""
        ...

    async def failed_since(
        self, tenant_id: TenantId, endpoint_id: UUID, since: datetime, after: str, limit: int
    ) -> list[DeliveryRequest]:
        """Up to ``limit`` failed deliveries of the endpoint created since ``since``, in event
        id order after ``after`` (keyset paging)."""
        ...

    async def reopen(self, request: DeliveryRequest) -> DeliveryRequest | None:
        """Make a delivery pending again with a fresh schedule; ``None`` if it does not
        exist. Returns it as stored (its payload)."""
        ...


class EndpointPaused(Exception):
    """No attempt now (breaker open, rate limit reached): try in ``retry_after`` s."""

    def __init__(self, endpoint_id: UUID, retry_after: float) -> None:
        super().__init__(f"webhook endpoint {endpoint_id} paused for {retry_after:.3f} s")
        self.retry_after = retry_after


class EndpointGuard(Protocol):
    """The endpoint's bulkhead (bounded concurrency, per endpoint and overall) and its
    circuit breaker around one attempt."""

    def guarded(
        self, endpoint_id: UUID, rate_limit: int | None
    ) -> AbstractAsyncContextManager[None]:
        """Wait for a slot, then run the block through the endpoint's breaker: an exception
        leaving it counts as a failure. Raises :class:`EndpointPaused` while the breaker is
        open or the endpoint is over its ``rate_limit`` (messages per second)."""
        ...
