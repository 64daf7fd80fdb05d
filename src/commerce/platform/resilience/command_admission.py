"""Fair share on the command channels: each tenant and each sender within its rate limit.

Before a command's transaction opens, :class:`CommandAdmission` asks the rate limiter about
two quotas of the command's channel: its tenant's (``tenantid``) and its sender's (the
CloudEvents ``source``). A command within both runs as usual. One over either is

* ``defer``: handed back to the broker, due when the limit admits it again
  (:class:`~commerce.platform.delivery.deferral.DeliveryDeferred`): service traffic that
  must be applied, later. Its slot is reserved (keyed by its message id) when it lies
  within the channel's longest retry delay, so that the command is deferred once, exactly
  to its slot, and admitted on its reservation when it comes back; a slot further ahead is
  not reserved and the command is deferred by the minimum and the backoff as before;
* ``reject``: answered with ``CommandRejected`` (reason ``rate-limited``, with
  ``retry_after_seconds``) through the normal rejection path, so the inbox makes sure a
  redelivered command is answered once.

Keys carry the channel in a hash tag (``{channel}``) so that one script call's keys share a
Redis Cluster slot, and start with the environment's prefix so that environments sharing
a Redis never count each other's commands.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

import structlog

from commerce.platform.delivery.deferral import DeliveryDeferred
from commerce.platform.kit.errors import RateLimited
from commerce.platform.messaging.channels import CommandChannel
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.observability.metrics_resilience import record_rate_limited
from commerce.platform.resilience.rate_limit import Limit, Quota, RateLimiter, Ticket, Verdict
from commerce.platform.transactions.ports import UnitOfWork
from commerce.platform.transactions.processing import CommandHandler

__all__ = ["ChannelLimits", "CommandAdmission", "OverLimitAction", "RateLimitPolicy"]

type OverLimitAction = Literal["defer", "reject"]
"""What becomes of a command over its limit."""

DEFER_REASON = "rate-limit"
_log = structlog.get_logger("commerce.rate_limit")


@dataclass(frozen=True, slots=True)
class ChannelLimits:
    """One command channel's limits: per tenant, per sender, and what to do over them."""

    tenant: Limit
    sender: Limit
    action: OverLimitAction = "defer"


@dataclass(frozen=True, slots=True)
class RateLimitPolicy:
    """Every channel's limits: ``default`` unless ``channels`` names the channel."""

    default: ChannelLimits
    channels: Mapping[str, ChannelLimits] = field(default_factory=dict)
    min_defer_seconds: float = 1.0
    """A deferred command without a reserved slot comes back no sooner than this (however
    short its retry-after), so that a tenant far over its limit does not spin its commands
    through the broker."""
    defer_spread: float = 0.5
    """A deferred command without a reserved slot has its delay stretched by up to this
    share at random, so that commands deferred together do not all come back together."""

    def of(self, channel: str) -> ChannelLimits:
        """The limits of ``channel``."""
        return self.channels.get(channel, self.default)


class CommandAdmission:
    """Lets a command's handler run, defers the command or has it rejected (see module)."""

    def __init__(
        self,
        limiter: RateLimiter,
        policy: RateLimitPolicy,
        *,
        prefix: str,
        unit_random: Callable[[], float] = random.random,
    ) -> None:
        self._limiter = limiter
        self._policy = policy
        self._prefix = prefix
        self._random = unit_random

    def quotas(self, channel: CommandChannel, envelope: Envelope) -> tuple[Quota, Quota]:
        """The tenant's and the sender's quota of ``channel`` for the command in ``envelope``."""
        limits = self._policy.of(channel.name)
        base = f"{self._prefix}:rate:{{{channel.name}}}"
        return (
            Quota(f"{base}:tenant:{envelope.tenant_id}", limits.tenant, "tenant"),
            Quota(f"{base}:sender:{envelope.source}", limits.sender, "sender"),
        )

    async def admit[U: UnitOfWork](
        self, channel: CommandChannel, envelope: Envelope, handler: CommandHandler[U]
    ) -> CommandHandler[U]:
        """``handler`` if the command is within its limits; else a handler that rejects it
        (``reject``), or raise :class:`DeliveryDeferred` (``defer``)."""
        defers = self._policy.of(channel.name).action == "defer" and bool(channel.retry_channels)
        verdict = await self._limiter.acquire(
            self.quotas(channel, envelope), self.ticket(channel, envelope) if defers else None
        )
        if verdict.admitted:
            return handler
        scope = verdict.scope or "tenant"
        if defers:
            record_rate_limited(channel.name, scope, "deferred")
            delay = self._delay(verdict)
            _log.debug(
                "command over its rate limit; deferred",
                scope=scope,
                delay=delay,
                reserved=verdict.reserved,
            )
            raise DeliveryDeferred(delay, reason=DEFER_REASON)
        record_rate_limited(channel.name, scope, "rejected")
        _log.debug(
            "command over its rate limit; rejected",
            scope=scope,
            retry_after_seconds=verdict.retry_after,
        )
        return _refusing(verdict)

    def ticket(self, channel: CommandChannel, envelope: Envelope) -> Ticket:
        """The reservation of the command in ``envelope`` on ``channel``: keyed by its message
        id in the channel's hash slot, no further ahead than the channel's longest delay."""
        return Ticket(
            f"{self._prefix}:rate:{{{channel.name}}}:held:{envelope.id}", channel.retry.max_delay
        )

    def _delay(self, verdict: Verdict) -> float:
        """How long a refused command is deferred: exactly to its reserved slot, or at least
        the minimum, spread at random (the slot is further ahead than the channel's delays)."""
        if verdict.reserved:
            return verdict.retry_after
        delay = max(verdict.retry_after, self._policy.min_defer_seconds)
        return delay * (1 + self._policy.defer_spread * self._random())

    async def close(self) -> None:
        """Release the rate limiter's connections."""
        await self._limiter.close()


def _refusing[U: UnitOfWork](verdict: Verdict) -> CommandHandler[U]:
    """A handler that refuses its command with :class:`RateLimited`."""
    scope = verdict.scope or "tenant"

    async def refuse(_: U) -> None:
        raise RateLimited(
            f"over the {scope}'s rate limit on this channel; retry after"
            f" {verdict.retry_after:.3f} s",
            retry_after_seconds=verdict.retry_after,
        )

    return refuse
