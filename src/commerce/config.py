"""Service settings, read from ``COMMERCE_*`` environment variables and ``.env``.

Only :mod:`commerce.bootstrap` and the entry points read settings; every other layer
receives plain values. Secrets are :class:`pydantic.SecretStr`, so they never appear in
``repr``, logs or error messages.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from commerce.config_resilience import (
    BreakerPolicySettings,
    BreakerSettings,
    BulkheadSettings,
    BulkheadsSettings,
    ChannelRateLimitSettings,
    KillSwitchSettings,
    KillSwitchTuning,
    RateLimitSettings,
)
from commerce.config_search import SearchSettings
from commerce.config_webhooks import WebhookSettings, check_webhooks_for
from commerce.platform.messaging.channels import check_inbox_retention
from commerce.registry.channels import CONSUMERS

__all__ = [
    "BreakerPolicySettings",
    "BreakerSettings",
    "BrokerSettings",
    "BrokerTransport",
    "BulkheadSettings",
    "BulkheadsSettings",
    "CacheSettings",
    "ChannelRateLimitSettings",
    "ChaosSettings",
    "DatabaseSettings",
    "EventStoreSettings",
    "HttpSettings",
    "InvalidSettingsError",
    "KillSwitchSettings",
    "KillSwitchTuning",
    "LogSettings",
    "OtelSettings",
    "PasswordHashingSettings",
    "RateLimitSettings",
    "RedisSettings",
    "RelaySettings",
    "Settings",
    "SignalsSettings",
    "WebhookSettings",
    "load_settings",
]

_POSTGRES_SCHEMES = ("postgresql", "postgresql+asyncpg", "postgres")


class BrokerTransport(StrEnum):
    """The message transport, chosen by the scheme of ``COMMERCE_BROKER__URL``."""

    RABBIT = "rabbit"
    KAFKA = "kafka"


def _check_postgres_url(value: SecretStr) -> SecretStr:
    scheme = urlsplit(value.get_secret_value()).scheme
    if scheme not in _POSTGRES_SCHEMES:
        msg = f"must be a postgresql:// URL, got scheme {scheme!r}"
        raise ValueError(msg)
    return value


class DatabaseSettings(BaseModel):
    """PostgreSQL connections: one role per duty (see ADR 0002)."""

    url: SecretStr = SecretStr(
        "postgresql+asyncpg://commerce_app:commerce_app@127.0.0.1:5432/commerce"
    )
    migration_url: SecretStr = SecretStr(
        "postgresql+asyncpg://commerce_owner:commerce_owner@127.0.0.1:5432/commerce"
    )
    relay_url: SecretStr = SecretStr(
        "postgresql+asyncpg://commerce_relay:commerce_relay@127.0.0.1:5432/commerce"
    )
    admin_url: SecretStr | None = SecretStr("postgresql://postgres@127.0.0.1:5432/postgres")
    pool_size: Annotated[int, Field(ge=1, le=200)] = 5
    """The worker's shared pool: query answering, the ordered consumers' sequence gate,
    dead-letter archiving, releasing parked events, readiness. Messages are handled on
    their consumer group's own pool (``bulkheads``)."""
    max_overflow: Annotated[int, Field(ge=0, le=200)] = 5
    statement_timeout_ms: Annotated[int, Field(ge=100)] = 15_000
    group_commit_max_messages: Annotated[int, Field(ge=1, le=60)] = 32
    """Commands handled concurrently share one transaction, up to this many (one savepoint
    each; at most 60 keeps Postgres' per-transaction subtransaction cache from overflowing);
    1 gives every message a transaction of its own. See docs/adr/0016-group-commit.md."""
    group_commit_transactions: Annotated[int, Field(ge=1, le=64)] = 4
    """Shared transactions filling at once, each on its own pooled connection: while one
    waits for Postgres, the others' messages run (keep it below the commands' pool size)."""

    _urls_are_postgres = field_validator("url", "migration_url", "relay_url")(_check_postgres_url)


class BrokerSettings(BaseModel):
    """The message broker; ``amqp://`` selects RabbitMQ, ``kafka://`` selects Kafka."""

    url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    prefetch: Annotated[int, Field(ge=1, le=10_000)] = 32
    partitions: Annotated[int, Field(ge=1, le=256)] = 4
    """Ordered event consumers' parallelism: RabbitMQ partition queues per consumer, Kafka
    partitions per event stream topic (fixed once a topic exists)."""
    namespace: Annotated[str, Field(pattern=r"^([a-z0-9][a-z0-9-]{0,62})?$")] = ""
    """Prefix of every queue, exchange, topic and group: environments sharing a broker."""
    kafka_idempotence: bool = True
    """Idempotent Kafka producer (``enable.idempotence``); off only for brokers without it."""
    kafka_command_members: Annotated[int, Field(ge=1, le=256)] | None = None
    """Kafka: consumers per command channel in each worker, each taking one record at a time
    (the command's concurrency, as ``prefetch`` is on RabbitMQ); ``None``: ``partitions``."""
    kafka_session_timeout_ms: Annotated[int, Field(ge=1_000)] = 10_000
    kafka_heartbeat_interval_ms: Annotated[int, Field(ge=100)] = 3_000
    kafka_fetch_max_wait_ms: Annotated[int, Field(ge=10, le=60_000)] = 500
    """Kafka: how long the broker may hold an empty fetch; every subscriber polls its topics
    this often when idle (longer: less broker load, later first record after a pause)."""

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: SecretStr) -> SecretStr:
        scheme = urlsplit(value.get_secret_value()).scheme
        if scheme not in ("amqp", "amqps", "kafka"):
            msg = f"scheme must be amqp://, amqps:// or kafka://, got {scheme!r}"
            raise ValueError(msg)
        return value

    @property
    def transport(self) -> BrokerTransport:
        """Which transport the URL selects."""
        scheme = urlsplit(self.url.get_secret_value()).scheme
        return BrokerTransport.KAFKA if scheme == "kafka" else BrokerTransport.RABBIT

    @property
    def kafka_bootstrap(self) -> str:
        """``host:port[,host:port]`` for Kafka clients."""
        return urlsplit(self.url.get_secret_value()).netloc


class RedisSettings(BaseModel):
    """Redis, for the L2 cache, rate limits and flag propagation."""

    url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")


class CacheSettings(BaseModel):
    """The read side's cache: L1 in each process, L2 in Redis (see ADR 0013)."""

    l1_max_entries: Annotated[int, Field(ge=1, le=10_000_000)] = 10_000
    l1_ttl_seconds: Annotated[float, Field(gt=0, le=3600)] = 5.0
    """Also the staleness bound of a worker that misses another's invalidation (Redis down)."""
    l2_ttl_seconds: Annotated[float, Field(gt=0, le=86_400)] = 300.0
    redis_timeout_seconds: Annotated[float, Field(gt=0, le=10)] = 0.25
    """Budget of one Redis call; past it the query is answered from the database."""


class HttpSettings(BaseModel):
    """The worker's HTTP surface (health, readiness, metrics, AsyncAPI docs)."""

    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65_535)] = 8000
    docs_assets_dir: Path | None = None
    """Where ``/docs`` finds the AsyncAPI web component (``node_modules`` layout, or the two
    files side by side); ``None``: the repository's ``scripts/node/node_modules``."""


class RelaySettings(BaseModel):
    """The outbox relay."""

    batch_size: Annotated[int, Field(ge=1, le=10_000)] = 500
    poll_interval_seconds: Annotated[float, Field(gt=0, le=60)] = 1.0
    publish_timeout_seconds: Annotated[float, Field(gt=0, le=300)] = 10.0
    """A wave the broker has not confirmed within this failed (an outage for the broker's
    circuit breaker); its rows go out again."""
    embedded: bool = False
    sent_retention_hours: Annotated[float, Field(gt=0)] = 24.0
    """How long published outbox rows are kept (for diagnosis) before the relay purges them."""
    inbox_retention_days: Annotated[float, Field(gt=0)] = 7.0
    """How long inbox rows are kept; must outlast the longest retry schedule."""
    purge_interval_seconds: Annotated[float, Field(gt=0)] = 300.0
    metrics_port: Annotated[int, Field(ge=1, le=65_535)] | None = None
    """``/metrics`` of a standalone relay (``commerce run relay``) on ``HTTP__HOST``; ``None``:
    off (inside the worker, the worker's ``/metrics`` covers the relay)."""

    @field_validator("inbox_retention_days")
    @classmethod
    def _outlasts_every_retry_schedule(cls, days: float) -> float:
        check_inbox_retention(days * 86_400, CONSUMERS)
        return days


class LogSettings(BaseModel):
    """Structured logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_output: bool = True


class PasswordHashingSettings(BaseModel):
    """argon2id cost (RFC 9106 second recommendation by default: 64 MiB, 3 passes)."""

    memory_kib: Annotated[int, Field(ge=8, le=4_194_304)] = 65_536
    time_cost: Annotated[int, Field(ge=1, le=64)] = 3
    parallelism: Annotated[int, Field(ge=1, le=64)] = 4


class ChaosSettings(BaseModel):
    """Fault injection for resilience drills; off by default, never on in production."""

    transient_failure_rate: Annotated[float, Field(ge=0.0, le=1.0)] = 0.0


class EventStoreSettings(BaseModel):
    """The event store of event-sourced aggregates (see ADR 0011)."""

    snapshot_every: Annotated[int, Field(ge=1, le=100_000)] = 50
    """Take a snapshot when an aggregate's version crosses a multiple of this many events."""


class OtelSettings(BaseModel):
    """OpenTelemetry export; off unless an endpoint is set."""

    endpoint: str | None = None
    """OTLP/gRPC collector, e.g. ``http://127.0.0.1:4317``; spans are exported only if set.
    ``OTEL_RESOURCE_ATTRIBUTES`` adds resource attributes; ``service_name`` names the service."""
    sample_ratio: Annotated[float, Field(ge=0, le=1)] = 1.0
    """Share of traces recorded and exported (with an endpoint), decided where a trace
    starts; downstream spans follow their parent's decision."""


class SignalsSettings(BaseModel):
    """Operator signals: the gauges of what waits for an operator, read from the stores."""

    refresh_interval_seconds: Annotated[float, Field(gt=0, le=3600)] = 30.0
    """How often each worker counts unresolved dead letters, holds and parked messages."""


class Settings(BaseSettings):
    """Every setting of the service. Environment: ``COMMERCE_<SECTION>__<NAME>``."""

    model_config = SettingsConfigDict(
        env_prefix="COMMERCE_",
        env_nested_delimiter="__",
        env_file=".env",
        env_ignore_empty=True,
        extra="ignore",
    )

    service_name: str = "commerce"
    environment: Literal["development", "test", "production"] = "development"
    startup_wait_seconds: Annotated[float, Field(ge=0)] = 60.0
    """How long ``commerce run`` waits for Postgres, the broker and Redis to answer before
    it gives up with an error naming what is missing (0: check once)."""
    database: DatabaseSettings = DatabaseSettings()
    bulkheads: BulkheadsSettings = BulkheadsSettings()
    broker: BrokerSettings = BrokerSettings()
    redis: RedisSettings = RedisSettings()
    rate_limits: RateLimitSettings = RateLimitSettings()
    cache: CacheSettings = CacheSettings()
    breakers: BreakerSettings = BreakerSettings()
    http: HttpSettings = HttpSettings()
    relay: RelaySettings = RelaySettings()
    log: LogSettings = LogSettings()
    otel: OtelSettings = OtelSettings()
    passwords: PasswordHashingSettings = PasswordHashingSettings()
    chaos: ChaosSettings = ChaosSettings()
    event_store: EventStoreSettings = EventStoreSettings()
    kill_switch: KillSwitchSettings = KillSwitchSettings()
    signals: SignalsSettings = SignalsSettings()
    search: SearchSettings = SearchSettings()
    webhooks: WebhookSettings = WebhookSettings()

    @model_validator(mode="after")
    def _no_test_allowance_in_production(self) -> Settings:
        check_webhooks_for(self.environment, self.webhooks)
        return self


class InvalidSettingsError(Exception):
    """Settings failed validation; ``problems`` holds one line per invalid variable."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid settings:\n" + "\n".join(problems))


def _variable_name(location: tuple[int | str, ...]) -> str:
    return "COMMERCE_" + "__".join(str(part).upper() for part in location)


def load_settings() -> Settings:
    """Read settings, turning a validation failure into one clear line per problem.

    Input values are never echoed back, so a malformed secret is not printed.
    """
    try:
        return Settings()
    except ValidationError as error:
        problems = [f"{_variable_name(item['loc'])}: {item['msg']}" for item in error.errors()]
        raise InvalidSettingsError(problems) from None
