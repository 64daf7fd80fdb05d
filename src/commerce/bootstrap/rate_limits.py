"""The command channels' rate limiter, built from ``COMMERCE_RATE_LIMITS__*`` (ADR 0019)."""

from __future__ import annotations

from commerce.config import ChannelRateLimitSettings, RateLimitSettings, Settings
from commerce.platform.read_side.cache_redis import create_redis
from commerce.platform.resilience.command_admission import (
    ChannelLimits,
    CommandAdmission,
    RateLimitPolicy,
)
from commerce.platform.resilience.fail_open import FailOpenRateLimiter
from commerce.platform.resilience.rate_limit import Limit
from commerce.platform.resilience.rate_limit_redis import RedisRateLimiter

__all__ = ["command_admission", "rate_limit_policy"]


def _channel_limits(
    section: RateLimitSettings, own: ChannelRateLimitSettings | None = None
) -> ChannelLimits:
    own = own or ChannelRateLimitSettings()
    return ChannelLimits(
        tenant=Limit(
            own.tenant_rate or section.tenant_rate, own.tenant_burst or section.tenant_burst
        ),
        sender=Limit(
            own.sender_rate or section.sender_rate, own.sender_burst or section.sender_burst
        ),
        action=own.action or section.action,
    )


def rate_limit_policy(section: RateLimitSettings) -> RateLimitPolicy:
    """Every command channel's limits from the settings section."""
    return RateLimitPolicy(
        default=_channel_limits(section),
        channels={name: _channel_limits(section, own) for name, own in section.channels.items()},
        min_defer_seconds=section.min_defer_seconds,
    )


def command_admission(settings: Settings) -> CommandAdmission | None:
    """The admission of the command channels, on Redis and failing open; ``None`` if off."""
    section = settings.rate_limits
    if not section.enabled:
        return None
    redis = create_redis(
        settings.redis.url.get_secret_value(), timeout=section.redis_timeout_seconds
    )
    limiter = FailOpenRateLimiter(
        RedisRateLimiter(redis),
        timeout=section.redis_timeout_seconds,
        down_after=section.down_after_seconds,
        retry_after=section.fail_open_seconds,
    )
    namespace = settings.broker.namespace
    prefix = f"{settings.service_name}:{namespace}" if namespace else settings.service_name
    return CommandAdmission(limiter, rate_limit_policy(section), prefix=prefix)
