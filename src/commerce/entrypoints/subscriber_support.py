"""What every subscriber module shares: the envelope dependency and handler routing by type.

Subscriber modules must not use ``from __future__ import annotations``: FastStream reads
the handlers' annotations at runtime, and a postponed ``CurrentEnvelope`` would be taken
for a second body field instead of a dependency.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fast_depends.library import CustomField
from faststream import StreamMessage

from commerce.messages.envelope import Envelope, message_type_of, parse_envelope
from commerce.messages.event_base import IntegrationEvent

__all__ = ["CurrentEnvelope", "current_envelope", "handles", "of_type"]


def current_envelope(message: StreamMessage[Any]) -> Envelope:
    """The CloudEvents envelope of ``message`` (validated)."""
    return parse_envelope(message.headers, message.content_type)


class _EnvelopeField(CustomField):
    """Injects the envelope of the message being handled into a handler's parameter.

    A FastDepends custom field whose ``use`` is a coroutine although it never awaits:
    FastDepends runs a synchronous ``use`` - FastStream's ``Context("message")`` has one -
    in a worker thread, a thread hop and a task group per message (docs/performance.md).
    """

    def __init__(self) -> None:
        super().__init__(cast=False, required=True)

    async def use(self, /, **kwargs: Any) -> dict[str, Any]:  # type: ignore[override]
        """Put the envelope of the context's current message under the parameter's name."""
        message: StreamMessage[Any] = kwargs["context__"].get_local("message")
        kwargs[str(self.param_name)] = current_envelope(message)
        return kwargs


type CurrentEnvelope = Annotated[Envelope, _EnvelopeField()]


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
