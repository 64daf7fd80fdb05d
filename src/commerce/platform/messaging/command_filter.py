"""A command channel takes only its command: the CloudEvents types its handler parses.

A message of any other type on a command channel (a foreign command sent to the wrong
channel, a version the service does not know yet) is taken by no handler, so the
consumer's failure policy sets it aside on ``<consumer>.skipped`` with its body and
headers untouched, instead of failing schema validation or, worse, being handled as the
channel's command. A message with no type at all is let through: its envelope is invalid,
and the envelope check dead-letters it with that reason.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from faststream import StreamMessage

from commerce.platform.messaging.commands import Command
from commerce.platform.messaging.envelope import message_type_of
from commerce.platform.messaging.transport import MessageFilter, SubscriberDecorator

__all__ = ["accepted_types", "command_of", "only_its_command"]


def accepted_types(command: type[Command]) -> frozenset[str]:
    """The CloudEvents types a channel of ``command`` takes: its own and earlier versions."""
    return frozenset((command.message_type, *command.also_accepts))


def command_of(handler: Callable[..., Any]) -> type[Command]:
    """The command payload type ``handler`` parses (its parameter annotated with one).

    Raises :class:`TypeError` when it has none: a command handler names its command.
    """
    for parameter in inspect.signature(handler, eval_str=True).parameters.values():
        annotation = parameter.annotation
        if isinstance(annotation, type) and issubclass(annotation, Command):
            return annotation
    name = getattr(handler, "__qualname__", type(handler).__qualname__)
    msg = f"command handler {name} has no parameter annotated with a Command payload type"
    raise TypeError(msg)


def _taking(
    types: frozenset[str], also: MessageFilter | None
) -> Callable[[StreamMessage[Any]], Awaitable[bool]]:
    """A subscriber filter: the message's type is one of ``types`` (or absent), and ``also``.

    ``async`` although it never awaits: FastStream runs a sync filter in a worker thread.
    """

    async def takes(message: StreamMessage[Any]) -> bool:
        message_type = message_type_of(message.headers)
        wanted = message_type is None or message_type in types
        return wanted and (also is None or also(message))

    return takes


def only_its_command(subscribe: SubscriberDecorator) -> SubscriberDecorator:
    """Wrap a command channel's ``subscribe`` so each handler takes only its command's types."""

    register: Callable[..., Any] = subscribe  # FastStream takes async filters too

    def subscribe_command(
        handler: Callable[..., Awaitable[Any]], /, *, filter: MessageFilter | None = None
    ) -> Any:
        return register(handler, filter=_taking(accepted_types(command_of(handler)), filter))

    return subscribe_command
