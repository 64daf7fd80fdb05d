"""The webhook endpoint: a tenant's subscription of one URL to integration event types."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from uuid import UUID

from commerce.platform.kit.errors import InvalidValue
from commerce.platform.kit.ids import TenantId
from commerce.webhooks.domain.event_filter import EventFilter
from commerce.webhooks.domain.signing import SigningSecret

__all__ = ["DisabledReason", "Endpoint", "RetiredSecret"]

FORBIDDEN_HEADERS = frozenset(
    {
        "host",
        "content-length",
        "content-type",
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "transfer-encoding",
        "connection",
    }
)


class DisabledReason:
    """Why an endpoint is disabled (stable codes shown to operators)."""

    OPERATOR = "operator"
    GONE = "gone"
    FAILING = "failing"


@dataclass(frozen=True, slots=True)
class RetiredSecret:
    """A rotated-out key that still signs until ``until`` (the rotation grace period)."""

    secret: SigningSecret
    until: datetime


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One subscription. Immutable: each change returns the next state.

    ``failing_since`` is when the current streak of failures with no success began;
    a success clears it, and a streak longer than the auto-disable period disables.
    """

    endpoint_id: UUID
    tenant_id: TenantId
    url: str
    secret: SigningSecret
    filter: EventFilter = field(default_factory=EventFilter)
    description: str = ""
    rate_limit: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    disabled_reason: str | None = None
    retired: tuple[RetiredSecret, ...] = ()
    failing_since: datetime | None = None

    def __post_init__(self) -> None:
        if self.rate_limit is not None and self.rate_limit < 1:
            raise InvalidValue("a webhook rate limit is at least 1 message/s")
        for name in self.headers:
            if name.lower() in FORBIDDEN_HEADERS:
                raise InvalidValue(f"header {name!r} is set by the webhook sender")

    def signing_keys(self, now: datetime) -> tuple[SigningSecret, ...]:
        """The keys that sign at ``now``: the current one and those still in their grace."""
        return (self.secret, *(old.secret for old in self.retired if old.until > now))

    def rotate(self, new: SigningSecret, now: datetime, grace: timedelta) -> Endpoint:
        """Sign with ``new`` from now on; the old key also signs for ``grace``."""
        kept = tuple(old for old in self.retired if old.until > now)
        return replace(self, secret=new, retired=(*kept, RetiredSecret(self.secret, now + grace)))

    def disable(self, reason: str) -> Endpoint:
        """Stop deliveries to the endpoint."""
        return replace(self, enabled=False, disabled_reason=reason)

    def enable(self) -> Endpoint:
        """Deliver again, with a clean failure streak."""
        return replace(self, enabled=True, disabled_reason=None, failing_since=None)

    def succeeded(self) -> Endpoint:
        """A delivery succeeded: the failure streak ends."""
        return replace(self, failing_since=None)

    def failed(self, now: datetime, disable_after: timedelta) -> Endpoint:
        """A message was given up on; disable once the streak is older than ``disable_after``."""
        since = self.failing_since or now
        failing = replace(self, failing_since=since)
        if now - since >= disable_after:
            return failing.disable(DisabledReason.FAILING)
        return failing

    def receives(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` is delivered to this endpoint now."""
        return self.enabled and self.filter.matches(event_type)
