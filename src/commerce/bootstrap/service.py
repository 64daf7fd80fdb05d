"""The wired service: subscribers, the relay and the health checks work with it."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit

import structlog
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.trace import Tracer
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.bootstrap.compartments import Compartment, build_compartments
from commerce.bootstrap.execution import run_once
from commerce.bootstrap.kill_switches import KillSwitches
from commerce.bootstrap.rate_limits import command_admission
from commerce.bootstrap.read_side import ReadSide
from commerce.bootstrap.search import SearchSide, search_side_for
from commerce.bootstrap.wiring import (
    SOURCE,
    breakers_from,
    build_transport,
    read_side_for,
    redacted,
)
from commerce.config import Settings
from commerce.identity.adapters.passwords import Argon2PasswordHasher
from commerce.platform.delivery.chaos import FaultInjector
from commerce.platform.delivery.dead_letter_console import (
    ARCHIVER_GROUP,
    DeadLetterArchiver,
)
from commerce.platform.delivery.dead_letter_store import (
    DeadLetterStore,
)
from commerce.platform.delivery.fault_events import FaultAnnouncer
from commerce.platform.delivery.redelivery import failure_policy_middleware
from commerce.platform.delivery.sequence_gate import ParkedReleaser, sequence_gate_middleware
from commerce.platform.delivery.sequence_holds import SequenceHolds
from commerce.platform.kit.clock import SystemClock
from commerce.platform.messaging.channels import CommandChannel, Consumer, EventConsumer
from commerce.platform.messaging.command_filter import only_its_command
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.transport import (
    AnyRouter,
    OutgoingMessage,
    SubscriberDecorator,
    Transport,
)
from commerce.platform.observability.log_context import bind_message_context
from commerce.platform.observability.metrics import (
    measure_broker,
    set_projection_lag,
)
from commerce.platform.observability.tracing import (
    TRACER_NAME,
    build_tracer_provider,
    trace_consumers,
)
from commerce.platform.postgres.engine import create_engine, ping
from commerce.platform.resilience.breakers import CircuitBreakers
from commerce.platform.resilience.command_admission import CommandAdmission
from commerce.platform.transactions.processing import CommandHandler, Outcome
from commerce.registry.channels import EVENT_STREAMS
from commerce.registry.consumer_groups import group_of
from commerce.registry.unit_of_work import ServiceUnitOfWork

__all__ = ["Service", "build_service"]

_log = structlog.get_logger("commerce.service")


@dataclass
class Service:
    """The wired service: what subscribers, the relay and the CLI work with."""

    settings: Settings
    transport: Transport
    engine: AsyncEngine
    """The shared pool: query answering, the ordered consumers' sequence gate (outside any
    bulkhead: a lookup that waited for a stalled group's pool would time out), dead-letter
    archiving, releasing parked events."""
    compartments: Mapping[str, Compartment]
    """Each consumer group's bulkhead, pool and units of work, by group (docs/adr/0021)."""
    hasher: Argon2PasswordHasher
    holds: SequenceHolds
    """The holds that keep an ordered consumer's aggregate in order (sequenced DLQ)."""
    read_side: ReadSide
    """The read models' cache and the query handlers (docs/adr/0013)."""
    breakers: CircuitBreakers
    """This process's circuit breakers, one per outbound dependency (docs/adr/0018)."""
    clock: SystemClock = field(default_factory=SystemClock)
    faults: FaultInjector = field(default_factory=FaultInjector)
    tracer_provider: TracerProvider = field(default_factory=TracerProvider)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    ordered_consumers: dict[str, EventConsumer] = field(default_factory=dict)
    admission: CommandAdmission | None = None
    """Rate limits of the command channels (docs/adr/0019); ``None``: none."""
    search: SearchSide | None = None
    """The item index (docs/adr/0028); ``None``: not wired."""

    @cached_property
    def tracer(self) -> Tracer:
        """The tracer of the service's own spans (handle, commit, relay publish)."""
        return self.tracer_provider.get_tracer(TRACER_NAME)

    @cached_property
    def kill_switches(self) -> KillSwitches:
        """Each consumer's kill switch, probing the database and the broker."""
        probes = {"postgres": lambda: ping(self.engine), "broker": self._ping_broker}
        return KillSwitches(self.settings.kill_switch, probes)

    def router(self) -> AnyRouter:
        """A fresh router of the service's transport, for one context's subscribers."""
        return self.transport.router()

    def compartment(self, channel: Consumer) -> Compartment:
        """The compartment of ``channel``'s consumer group; :class:`LookupError` if it has no
        bulkhead settings."""
        group = group_of(channel)
        try:
            return self.compartments[group]
        except KeyError:
            msg = f"{channel.consumer}'s consumer group {group} has no bulkhead settings"
            raise LookupError(msg) from None

    def command_subscriber(self, router: AnyRouter, channel: CommandChannel) -> SubscriberDecorator:
        """Subscribe a handler to ``channel`` under its consumer's failure policy.

        The handler takes only its command's CloudEvents types; a message of another type
        goes to the consumer's ``skipped`` channel
        (:mod:`commerce.platform.messaging.command_filter`).
        """
        self.compartment(channel)  # a consumer without a group fails here, not per message
        consumer_router: Any = self.transport.router(
            middlewares=(
                failure_policy_middleware(
                    channel=channel,
                    transport=self.transport,
                    guard=self.kill_switches.guard(channel.consumer),
                ),
            )
        )
        router.include_router(consumer_router)
        return only_its_command(self.transport.command_subscriber(consumer_router, channel))

    def archive_dead_letters(self, router: AnyRouter, channel: Consumer) -> None:
        """Subscribe the archiver of ``channel``'s DLQ and ``skipped`` channel: each message
        set aside becomes a store row that ``commerce dlq`` lists and replays; a command's
        technical fault is announced as ``CommandFaulted`` (docs/adr/0020)."""
        archiver = DeadLetterArchiver(
            DeadLetterStore(self.engine),
            self.transport,
            channel,
            faults=FaultAnnouncer(source=SOURCE),
        )
        for set_aside in (channel.dead_letters, channel.skipped):
            self.transport.channel_subscriber(router, set_aside, ARCHIVER_GROUP)(archiver)

    def event_subscriber(self, router: AnyRouter, consumer: EventConsumer) -> SubscriberDecorator:
        """Subscribe an ordered handler to ``consumer``'s stream, under its failure policy.

        Events of one aggregate are handled in order; one that leaves the line holds its
        aggregate, and later ones are parked behind it until it is resolved.
        """
        self.compartment(consumer)  # a consumer without a group fails here, not per message
        consumer_router: Any = self.transport.router(
            middlewares=(
                failure_policy_middleware(
                    channel=consumer,
                    transport=self.transport,
                    holds=self.holds,
                    guard=self.kill_switches.guard(consumer.consumer),
                ),
                sequence_gate_middleware(
                    consumer=consumer,
                    transport=self.transport,
                    holds=self.holds,
                    released=self.released,
                ),
            )
        )
        router.include_router(consumer_router)
        self.ordered_consumers[consumer.consumer] = consumer
        return self.transport.event_subscriber(consumer_router, consumer)

    def releaser(self) -> ParkedReleaser:
        """The loop sending parked events of released holds back to their consumers."""
        return ParkedReleaser(
            self.holds, self.transport, self.ordered_consumers, wake=self.released
        )

    async def execute(
        self,
        channel: Consumer,
        envelope: Envelope,
        command: Command | IntegrationEvent,
        handler: CommandHandler[ServiceUnitOfWork],
    ) -> Outcome:
        """Run ``handler`` for a command or event exactly once, in the message's transaction.

        In the compartment of the channel's consumer group: its bulkhead admits the message
        (waiting while the group is at its concurrency), its units of work run it on its
        own pool. Traced as ``handle <Message>`` (whose context the events it causes
        carry), counted and timed by consumer and outcome. A command refused by a business
        rule becomes a rejection event; for an event consumer a business-rule error is a
        failure like any. A command over its rate limit is deferred or rejected before its
        transaction opens (and before it takes a place in the bulkhead).
        """
        if self.admission is not None and isinstance(channel, CommandChannel):
            handler = await self.admission.admit(channel, envelope, handler)
        compartment = self.compartment(channel)
        async with compartment.bulkhead:
            outcome = await run_once(
                compartment.open_unit_of_work,
                channel,
                envelope,
                command,
                handler,
                tracer=self.tracer,
                faults=self.faults,
            )
        if isinstance(channel, EventConsumer):
            lag = (self.clock.now() - envelope.time).total_seconds()
            set_projection_lag(channel.consumer, channel.stream.name, lag)
        return outcome

    async def send_command(
        self, channel: CommandChannel, command: Command, *, tenant_id: Any
    ) -> Envelope:
        """Publish ``command`` with a fresh envelope (for operators and tests)."""
        envelope = Envelope.new(
            type=command.message_type,
            source=SOURCE,
            tenant_id=tenant_id,
            subject=command.aggregate_key(),
        )
        await self.transport.send_command(
            channel,
            OutgoingMessage(
                body=command.wire_body(),
                key=command.aggregate_key(),
                headers=envelope.headers(self.transport.style),
                content_type=envelope.content_type,
                message_id=str(envelope.id),
            ),
        )
        return envelope

    async def declare_streams(self) -> None:
        """Declare on the broker every event stream the service publishes (rejections too).

        Each as its publishers declare it, idempotently: a downstream consumer written from
        the AsyncAPI document may bind to any stream before its first event is published.
        """
        await self.transport.declare_streams(EVENT_STREAMS)

    async def readiness(self) -> dict[str, str]:
        """Each dependency's state: ``"ok"`` or the reason it is not ready."""
        checks: dict[str, Callable[[], Awaitable[None]]] = {
            "database": lambda: ping(self.engine),
            "broker": self._ping_broker,
        }
        report: dict[str, str] = {}
        for name, check in checks.items():
            try:
                await check()
                report[name] = "ok"
            except Exception as error:
                report[name] = str(error) or type(error).__name__
        for consumer, why in self.kill_switches.paused().items():
            report[f"consumer {consumer}"] = why
        return report

    async def _ping_broker(self) -> None:
        if not await self.transport.ping(2.0):
            url = redacted(self.settings.broker.url.get_secret_value())
            raise ConnectionError(f"broker at {urlsplit(url).netloc or url} does not answer")

    async def close(self) -> None:
        """Release pooled connections; hand finished spans to the exporter."""
        await self.kill_switches.close()
        await self.read_side.close()
        if self.admission is not None:
            await self.admission.close()
        if self.search is not None:
            await self.search.close()
        await self.engine.dispose()
        for compartment in self.compartments.values():
            await compartment.engine.dispose()
        self.tracer_provider.force_flush(5_000)


def build_service(settings: Settings, *, tracer_provider: TracerProvider | None = None) -> Service:
    """Wire the service from settings (connections open lazily).

    ``tracer_provider`` replaces the one built from ``COMMERCE_OTEL__ENDPOINT`` (tests).
    """
    provider = tracer_provider or build_tracer_provider(
        service_name=settings.service_name,
        endpoint=settings.otel.endpoint,
        sample_ratio=settings.otel.sample_ratio,
    )
    transport = build_transport(settings)
    if tracer_provider is not None or settings.otel.endpoint:  # spans are recorded
        trace_consumers(transport.broker, provider)
    bind_message_context(transport.broker)  # outermost: every line of a message names it
    measure_broker(transport.broker, app_name=settings.service_name)
    database = settings.database
    engine = create_engine(
        database.url.get_secret_value(),
        pool_size=database.pool_size,
        max_overflow=database.max_overflow,
        application_name=settings.service_name,
        statement_timeout_ms=database.statement_timeout_ms,
    )
    tracer = provider.get_tracer(TRACER_NAME)
    breakers = breakers_from(settings)
    return Service(
        settings=settings,
        transport=transport,
        engine=engine,
        compartments=build_compartments(settings, source=SOURCE, tracer=tracer),
        holds=SequenceHolds(engine),
        read_side=read_side_for(settings, engine, transport, breakers),
        breakers=breakers,
        hasher=Argon2PasswordHasher(
            memory_kib=settings.passwords.memory_kib,
            time_cost=settings.passwords.time_cost,
            parallelism=settings.passwords.parallelism,
        ),
        faults=FaultInjector(settings.chaos.transient_failure_rate),
        tracer_provider=provider,
        admission=command_admission(settings),
        search=search_side_for(settings.search, engine),
    )
