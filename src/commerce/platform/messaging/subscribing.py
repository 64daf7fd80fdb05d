"""What every subscriber module shares: the envelope dependency and handler routing by type.

Subscriber modules must not use ``from __future__ import annotations``: FastStream reads
the handlers' annotations at runtime, and a postponed ``CurrentEnvelope`` would be taken
for a second body field instead of a dependency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from faststream import Depends, StreamMessage

from commerce.platform.messaging.envelope import Envelope, message_type_of, parse_envelope
from commerce.platform.messaging.integration_event import IntegrationEvent
from commerce.platform.observability.log_context import current_message

__all__ = ["CurrentEnvelope", "current_envelope", "handles", "of_type"]


async def current_envelope() -> Envelope:
    """The CloudEvents envelope of the message being handled (validated).

    A dependency without parameters, reading the message the service's broker middleware
    holds (:func:`~commerce.platform.observability.log_context.current_message`):
    FastStream's ``Context("message")`` is a custom field, which costs FastDepends a task
    group per message, and a synchronous function would run in a worker thread
    (docs/performance.md).
    """
    message = current_message()
    return parse_envelope(message.headers, message.content_type)


type CurrentEnvelope = Annotated[Envelope, Depends(current_envelope)]


def of_type(
    *events: type[IntegrationEvent],
) -> Callable[[StreamMessage[Any]], Awaitable[bool]]:
    """A subscriber filter taking the messages whose CloudEvents type is one of ``events``'.

    ``async`` for the same reason as :func:`current_envelope` (FastStream runs sync filters
    in a worker thread).
    """
    wanted = frozenset(event.message_type for event in events)

    async def accepts(message: StreamMessage[Any]) -> bool:
        return message_type_of(message.headers) in wanted

    return accepts


def handles[H: Callable[..., Any]](
    subscribe: Callable[..., Any], *events: type[IntegrationEvent]
) -> Callable[[H], H]:
    """Decorate a handler of one event consumer's messages of the types ``events``.

    ``subscribe`` is what ``Service.event_subscriber`` returned for the consumer; other
    types on the stream fall through to the consumer's other handlers (then ``skipped``).
    """

    def decorate(handler: H) -> H:
        subscribe(handler, filter=of_type(*events))
        return handler

    return decorate
