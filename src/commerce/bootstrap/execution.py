"""Running one message's handler exactly once: traced, counted, in its own unit of work."""

from __future__ import annotations

import structlog
from opentelemetry.trace import Tracer

from commerce.platform.delivery.chaos import FaultInjector
from commerce.platform.kit.ids import TenantId
from commerce.platform.kit.message_context import MessageContext
from commerce.platform.messaging.channels import CommandChannel, Consumer
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.observability.metrics import observe_command
from commerce.platform.observability.tracing import command_span, trace_context_of
from commerce.platform.transactions.ports import UnitOfWorkFactory
from commerce.platform.transactions.processing import CommandHandler, Outcome, process_command
from commerce.registry.unit_of_work import ServiceUnitOfWork

__all__ = ["run_once"]

_log = structlog.get_logger("commerce.service")


async def run_once(
    open_unit_of_work: UnitOfWorkFactory[ServiceUnitOfWork],
    channel: Consumer,
    envelope: Envelope,
    command: Command | IntegrationEvent,
    handler: CommandHandler[ServiceUnitOfWork],
    *,
    tracer: Tracer,
    faults: FaultInjector,
) -> Outcome:
    """Run ``handler`` once per (consumer, message) in a unit of work of
    ``open_unit_of_work``, traced as ``handle <Message>`` and counted by outcome."""
    with (
        observe_command(channel.consumer) as observed,
        command_span(tracer, command, envelope, consumer=channel.consumer) as span,
    ):
        traceparent, tracestate = trace_context_of(
            span, default=(envelope.traceparent, envelope.tracestate)
        )
        context = MessageContext(
            message_id=envelope.id,
            message_type=envelope.type,
            tenant_id=TenantId(envelope.tenant_id),
            correlation_id=envelope.correlation_id,
            causation_id=envelope.causation_id,
            traceparent=traceparent,
            tracestate=tracestate,
            consumer=channel.consumer,
        )
        # The message's identity is in the log context already (bind_message_context).
        faults.before_handling(envelope.id)
        outcome = await process_command(
            consumer=channel.consumer,
            context=context,
            aggregate_id=(
                command.aggregate_key() if isinstance(command, Command) else envelope.subject or ""
            ),
            handler=handler,
            open_unit_of_work=open_unit_of_work,
            rejects=isinstance(channel, CommandChannel),
        )
        # Per message: DEBUG (docs/adr/0027); a rejection is worth a line at INFO.
        log = _log.info if outcome is Outcome.REJECTED else _log.debug
        log("command processed", outcome=outcome.value, consumer=channel.consumer)
        observed.outcome = outcome.value
        span.set_attribute("commerce.outcome", outcome.value)
    return outcome
