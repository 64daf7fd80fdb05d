"""FastStream subscribers: one router per bounded context, one tiny handler per command.

Each handler turns the wire payload and envelope into an application command and runs
the use case through :meth:`commerce.bootstrap.Service.execute` (inbox, transaction,
outbox). Decoding, schema and envelope failures never reach the handler body: the
consumer's dead-letter middleware parks them.
"""

from functools import partial
from typing import Annotated, Any

from faststream import Context, Depends, StreamMessage

from commerce.application.identity import RegisterUserCommand, register_user
from commerce.bootstrap import AnyRouter, Service
from commerce.domain.values import TenantId
from commerce.messages.catalogue import COMMAND_CHANNELS
from commerce.messages.channels import REGISTER_USER
from commerce.messages.commands import RegisterUser
from commerce.messages.envelope import Envelope, parse_envelope

__all__ = ["current_envelope", "dead_letter_router", "identity_router", "routers"]


def current_envelope(message: Annotated[StreamMessage[Any], Context("message")]) -> Envelope:
    """The CloudEvents envelope of the message being handled (validated)."""
    return parse_envelope(message.headers, message.content_type)


type CurrentEnvelope = Annotated[Envelope, Depends(current_envelope)]


def identity_router(service: Service) -> AnyRouter:
    """Subscribers of the identity context."""
    router = service.transport.router()

    @service.command_subscriber(router, REGISTER_USER)
    async def on_register_user(body: RegisterUser, envelope: CurrentEnvelope) -> None:
        """Register a user account (``RegisterUser.v1``)."""
        command = RegisterUserCommand(
            tenant_id=TenantId(envelope.tenant_id),
            user_id=body.user_id,
            email=body.email,
            display_name=body.display_name,
            password=body.password.get_secret_value(),
        )
        handler = partial(register_user, command, hasher=service.hasher, clock=service.clock)
        await service.execute(REGISTER_USER, envelope, body, handler)

    return router


def dead_letter_router(service: Service) -> AnyRouter:
    """The archivers of every command consumer's DLQ (into the dead-letter store)."""
    router = service.transport.router()
    for channel in COMMAND_CHANNELS:
        service.archive_dead_letters(router, channel)
    return router


def routers(service: Service) -> list[AnyRouter]:
    """Every context's router."""
    return [identity_router(service), dead_letter_router(service)]
