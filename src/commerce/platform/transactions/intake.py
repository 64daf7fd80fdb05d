"""What a bounded context's subscribers are given: subscribe under a failure policy, and
run a use case exactly once in the message's transaction.

A context's router receives a :class:`MessageIntake` typed with the unit of work its use
cases need, plus the few collaborators they take (a clock, a hasher), never the whole
wired service.
"""

from __future__ import annotations

from typing import Protocol

from commerce.platform.messaging.channels import CommandChannel, Consumer, EventConsumer
from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import Envelope
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.messaging.transport import AnyRouter, SubscriberDecorator
from commerce.platform.transactions.ports import UnitOfWork
from commerce.platform.transactions.processing import CommandHandler, Outcome

__all__ = ["MessageIntake"]


class MessageIntake[U: UnitOfWork](Protocol):
    """Subscribing handlers and running them exactly once, in units of work of type ``U``."""

    def router(self) -> AnyRouter:
        """A fresh router of the service's transport, for one context's subscribers."""
        ...

    def command_subscriber(self, router: AnyRouter, channel: CommandChannel) -> SubscriberDecorator:
        """Subscribe a handler to ``channel``'s command, under its failure policy."""
        ...

    def event_subscriber(self, router: AnyRouter, consumer: EventConsumer) -> SubscriberDecorator:
        """Subscribe ordered handlers to ``consumer``'s stream, under its failure policy."""
        ...

    async def execute(
        self,
        channel: Consumer,
        envelope: Envelope,
        command: Command | IntegrationEvent,
        handler: CommandHandler[U],
    ) -> Outcome:
        """Run ``handler`` for the message exactly once, in the message's transaction."""
        ...
