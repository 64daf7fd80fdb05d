"""Settings of the service's resilience: bulkheads, circuit breakers, rate limits and the
consumers' kill switch (docs/adr/0018, 0019, 0021, 0023); part of :mod:`commerce.config`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from commerce.registry.channels import COMMAND_CHANNELS, CONSUMERS
from commerce.registry.consumer_groups import COMMANDS

__all__ = [
    "BreakerPolicySettings",
    "BreakerSettings",
    "BulkheadSettings",
    "BulkheadsSettings",
    "ChannelRateLimitSettings",
    "KillSwitchSettings",
    "KillSwitchTuning",
    "RateLimitSettings",
]


class BulkheadSettings(BaseModel):
    """One consumer group's compartment: how many of its messages run at once, and its own
    slice of the database pool (docs/adr/0021-bulkheads-per-consumer-group.md)."""

    concurrency: Annotated[int, Field(ge=1, le=10_000)]
    pool_size: Annotated[int, Field(ge=1, le=200)]
    max_overflow: Annotated[int, Field(ge=0, le=200)]

    @property
    def connections(self) -> int:
        """The most connections the group's pool opens."""
        return self.pool_size + self.max_overflow


class BulkheadsSettings(BaseModel):
    """Every consumer group's bulkhead; a field per group of
    :mod:`commerce.registry.consumer_groups`.

    Commands share transactions (group commit), so their concurrency counts messages, not
    connections. Every other group gives each message a transaction of its own on its own
    connection, so its concurrency may not exceed its pool (those over it would wait for a
    connection and time out instead of waiting their turn in the bulkhead).
    """

    commands: BulkheadSettings = BulkheadSettings(concurrency=64, pool_size=8, max_overflow=4)
    projections: BulkheadSettings = BulkheadSettings(concurrency=8, pool_size=6, max_overflow=2)
    policies: BulkheadSettings = BulkheadSettings(concurrency=4, pool_size=2, max_overflow=2)

    @property
    def groups(self) -> dict[str, BulkheadSettings]:
        """Each group's settings, by group name."""
        return {name: getattr(self, name) for name in type(self).model_fields}

    @property
    def connections(self) -> int:
        """The most connections every group's pool together opens."""
        return sum(group.connections for group in self.groups.values())

    @model_validator(mode="before")
    @classmethod
    def _unset_values_keep_their_groups_defaults(cls, data: Any) -> Any:
        """``COMMERCE_BULKHEADS__PROJECTIONS__POOL_SIZE`` alone keeps the projections'
        default concurrency and overflow (each group has defaults of its own)."""
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            given = data.get(name)
            if isinstance(given, dict) and isinstance(field.default, BulkheadSettings):
                merged[name] = {**field.default.model_dump(), **given}
        return merged

    @model_validator(mode="after")
    def _own_transactions_fit_their_pool(self) -> BulkheadsSettings:
        for name, group in self.groups.items():
            if name != COMMANDS and group.concurrency > group.connections:
                msg = (
                    f"{name}: concurrency {group.concurrency} exceeds pool_size + max_overflow"
                    f" ({group.connections}); each of its messages holds a connection"
                )
                raise ValueError(msg)
        return self


class BreakerPolicySettings(BaseModel):
    """When a dependency's circuit breaker opens and how long it stays open (ADR 0018)."""

    failure_threshold: Annotated[int, Field(ge=1, le=1_000)] = 5
    """Consecutive outage failures (not business errors) that open the breaker."""
    reset_timeout_seconds: Annotated[float, Field(gt=0, le=3_600)] = 5.0
    """How long an open breaker refuses calls before it lets one probe through."""


class BreakerSettings(BreakerPolicySettings):
    """The circuit breakers of outbound dependencies: one policy for all, and overrides by
    dependency name (``postgres``, ``redis``, ``broker``, or a client's own name)."""

    overrides: dict[str, BreakerPolicySettings] = {}


type _Rate = Annotated[float, Field(gt=0, le=1_000_000)]
type _Burst = Annotated[int, Field(ge=1, le=10_000_000)]


class ChannelRateLimitSettings(BaseModel):
    """One command channel's own limits; what is left out is the section's default."""

    model_config = {"extra": "forbid"}

    tenant_rate: _Rate | None = None
    tenant_burst: _Burst | None = None
    sender_rate: _Rate | None = None
    sender_burst: _Burst | None = None
    action: Literal["defer", "reject"] | None = None


class RateLimitSettings(BaseModel):
    """Fair share of the command channels, per tenant and per sender (see ADR 0019).

    Rates are commands per second on one channel, bursts how many may come at once. The
    defaults only stop a runaway sender; set real limits per deployment and channel.
    """

    enabled: bool = True
    tenant_rate: _Rate = 5_000.0
    tenant_burst: _Burst = 10_000
    sender_rate: _Rate = 20_000.0
    sender_burst: _Burst = 40_000
    action: Literal["defer", "reject"] = "defer"
    """Over the limit: ``defer`` (redelivered through the broker when the limit allows) or
    ``reject`` (``CommandRejected`` with reason ``rate-limited`` and a retry-after)."""
    channels: dict[str, ChannelRateLimitSettings] = {}
    """Per command channel (by its name), e.g. ``{"commerce.orders.place-order":
    {"tenant_rate": 50, "tenant_burst": 100, "action": "reject"}}``."""
    redis_timeout_seconds: Annotated[float, Field(gt=0, le=5)] = 0.1
    """Budget of one Redis call; past it (or on any Redis error) the command is let through."""
    down_after_seconds: Annotated[float, Field(ge=0, le=60)] = 0.5
    """Redis not answering this long counts as down: the limiter fails open (gauge, log)."""
    fail_open_seconds: Annotated[float, Field(gt=0, le=300)] = 2.0
    """While Redis is down, let commands through unchecked this long between tries."""
    min_defer_seconds: Annotated[float, Field(gt=0, le=300)] = 1.0
    """A deferred command without a reserved slot (its slot further ahead than the channel's
    longest retry delay) comes back no sooner than this."""

    @field_validator("channels")
    @classmethod
    def _known_channels(
        cls, channels: dict[str, ChannelRateLimitSettings]
    ) -> dict[str, ChannelRateLimitSettings]:
        return _only_known("command channel", channels, {c.name for c in COMMAND_CHANNELS})


def _only_known[V](kind: str, named: dict[str, V], known: set[str]) -> dict[str, V]:
    """``named`` unchanged when every key is in ``known``; else an error listing both."""
    unknown = sorted(set(named) - known)
    if unknown:
        msg = f"unknown {kind}(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
        raise ValueError(msg)
    return named


class KillSwitchTuning(BaseModel):
    """When a consumer pauses for an outage and how it comes back (docs/adr/0023)."""

    trip_after: Annotated[int, Field(ge=1, le=1_000)] = 3
    """Consecutive failures confirmed as an outage (a probe of the dependency fails too)."""
    probe_interval_seconds: Annotated[float, Field(gt=0, le=300)] = 2.0
    hold_seconds: Annotated[float, Field(gt=0, le=240)] = 20.0
    """How long a message arriving at a paused consumer waits before going back to the
    broker (below RabbitMQ's consumer timeout and Kafka's max poll interval)."""
    recovering_concurrency: Annotated[int, Field(ge=1, le=1_000)] = 1
    recovered_after: Annotated[int, Field(ge=1, le=100_000)] = 10
    """Consecutive successes at reduced concurrency before full concurrency returns."""


_TUNING_FIELDS = tuple(KillSwitchTuning.model_fields)


class KillSwitchSettings(KillSwitchTuning):
    """The consumers' kill switch: defaults, and tuning per consumer."""

    enabled: bool = True
    probe_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 2.0
    consumers: dict[str, KillSwitchTuning] = {}
    """Per consumer name, e.g. ``{"commerce.orders.place-order": {"trip_after": 5}}``;
    unset fields take the defaults above."""

    @field_validator("consumers")
    @classmethod
    def _known_consumers(
        cls, consumers: dict[str, KillSwitchTuning]
    ) -> dict[str, KillSwitchTuning]:
        return _only_known("consumer", consumers, {c.consumer for c in CONSUMERS})

    def tuning_for(self, consumer: str) -> KillSwitchTuning:
        """The tuning of ``consumer``: its own values over the defaults."""
        own = self.consumers.get(consumer)
        defaults = KillSwitchTuning(**{name: getattr(self, name) for name in _TUNING_FIELDS})
        if own is None:
            return defaults
        return defaults.model_copy(update=own.model_dump(exclude_unset=True))
