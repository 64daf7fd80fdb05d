"""Every channel of the published contract, with the message types it carries.

The AsyncAPI documents are built from this catalogue and from the FastStream subscribers;
the generator refuses a subscriber whose payload model disagrees with its route here, and
the unit tests refuse a command or integration event missing from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from commerce.messages.channels import REGISTER_USER, REJECTIONS, USERS, CommandChannel, EventStream
from commerce.messages.commands import Command, RegisterUser
from commerce.messages.events import CommandRejectedV1, IntegrationEvent, UserRegisteredV1

__all__ = [
    "COMMANDS_BY_NAME",
    "COMMAND_CHANNELS",
    "COMMAND_ROUTES",
    "EVENT_STREAMS",
    "INTEGRATION_EVENTS",
    "CommandRoute",
    "events_on",
    "route_of",
]


@dataclass(frozen=True, slots=True)
class CommandRoute:
    """One command type and the point-to-point channel that carries it."""

    channel: CommandChannel
    command: type[Command]


COMMAND_ROUTES: tuple[CommandRoute, ...] = (CommandRoute(REGISTER_USER, RegisterUser),)
"""Every command the service consumes, in the order the documents list them."""

COMMAND_CHANNELS: tuple[CommandChannel, ...] = tuple(route.channel for route in COMMAND_ROUTES)
"""Every command channel (each has its consumer, retry channels and dead-letter archiver)."""

COMMANDS_BY_NAME: dict[str, type[Command]] = {
    route.command.__name__: route.command for route in COMMAND_ROUTES
}
"""Command payload types by name, for operators' tools."""

EVENT_STREAMS: tuple[EventStream, ...] = (USERS, REJECTIONS)
"""Every stream the service publishes to, in the order the documents list them."""

INTEGRATION_EVENTS: tuple[type[IntegrationEvent], ...] = (UserRegisteredV1, CommandRejectedV1)
"""Every integration event type, each published on its ``stream``."""


def events_on(stream: EventStream) -> tuple[type[IntegrationEvent], ...]:
    """The integration event types published on ``stream``."""
    return tuple(event for event in INTEGRATION_EVENTS if event.stream == stream)


def route_of(command: type[Command]) -> CommandRoute:
    """The route of ``command``; :class:`LookupError` if it has none."""
    for route in COMMAND_ROUTES:
        if route.command is command:
            return route
    msg = f"no channel is catalogued for {command.__name__}"
    raise LookupError(msg)
