"""The gate in front of an ordered consumer's handler, and the releaser of parked messages.

The gate asks :class:`~commerce.platform.delivery.sequence_holds.SequenceHolds` about each message
before the handler runs: with no hold on its aggregate the message goes through; held
behind another message it is parked (and acknowledged); the message a hold waits for goes
through and, once handled, settles the hold. The releaser, a loop in each worker, sends
parked messages of released holds back to their consumer, oldest first, one per aggregate
at a time. See ``docs/adr/0012-ordered-consumption.md``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import structlog
from faststream import BaseMiddleware, StreamMessage

from commerce.platform.delivery.sequence_holds import Admission, ParkedMessage, SequenceHolds
from commerce.platform.messaging.channels import EventConsumer
from commerce.platform.messaging.transport import OutgoingMessage, Transport
from commerce.platform.observability.metrics import record_parked

__all__ = ["MessageSequence", "ParkedReleaser", "sequence_gate_middleware", "sequence_of"]

_log = structlog.get_logger("commerce.sequencing")


@dataclass(frozen=True, slots=True)
class MessageSequence:
    """Where a message stands in its aggregate's sequence: the aggregate and its own id."""

    key: str
    message_id: str


def sequence_of(headers: Mapping[str, str]) -> MessageSequence | None:
    """The CloudEvents ``subject`` (aggregate id) and ``id`` of a message, if it has both."""
    lowered = {name.lower(): value for name, value in headers.items()}
    key = lowered.get("ce-subject") or lowered.get("ce_subject")
    message_id = lowered.get("ce-id") or lowered.get("ce_id")
    return MessageSequence(key, message_id) if key and message_id else None


class _SequenceGateMiddleware(BaseMiddleware):
    """Parks a message held behind its aggregate's hold; settles the hold it resolves."""

    def __init__(
        self,
        msg: Any,
        /,
        *,
        context: Any,
        consumer: EventConsumer,
        transport: Transport,
        holds: SequenceHolds,
        released: asyncio.Event,
    ) -> None:
        super().__init__(msg, context=context)
        self._consumer = consumer
        self._transport = transport
        self._holds = holds
        self._released = released

    async def consume_scope(
        self, call_next: Callable[[StreamMessage[Any]], Awaitable[Any]], msg: StreamMessage[Any]
    ) -> Any:
        """Admit, park or settle around the handler."""
        raw = self._transport.raw(msg.raw_message)
        sequence = sequence_of(raw.headers)
        if sequence is None:  # no aggregate to order by: the envelope check will refuse it
            return await call_next(msg)
        consumer = self._consumer.consumer
        admission = await self._holds.admit(consumer, sequence.key, sequence.message_id)
        if admission is Admission.PARK:
            parked = await self._holds.park(
                consumer,
                sequence.key,
                sequence.message_id,
                headers=raw.headers,
                body=raw.body,
                content_type=raw.content_type,
            )
            if parked:
                record_parked(consumer)
                _log.info("message parked behind its aggregate's hold", consumer=consumer)
                return None
            admission = Admission.FREE  # the hold ended between the two queries
        result = await call_next(msg)
        if admission is Admission.RESOLVES:
            await self._holds.settle(consumer, sequence.key, sequence.message_id)
            self._released.set()
        return result


def sequence_gate_middleware(
    *,
    consumer: EventConsumer,
    transport: Transport,
    holds: SequenceHolds,
    released: asyncio.Event,
) -> Callable[..., BaseMiddleware]:
    """The gate's middleware factory for ``consumer``; ``released`` wakes the releaser."""
    return partial(
        _SequenceGateMiddleware,
        consumer=consumer,
        transport=transport,
        holds=holds,
        released=released,
    )


class ParkedReleaser:
    """Sends parked messages of released holds back to their consumers, in order."""

    def __init__(
        self,
        holds: SequenceHolds,
        transport: Transport,
        consumers: Mapping[str, EventConsumer],
        *,
        wake: asyncio.Event,
        poll_interval: float = 1.0,
    ) -> None:
        self._holds = holds
        self._transport = transport
        self._consumers = dict(consumers)
        self._wake = wake
        self._poll_interval = poll_interval

    async def _send(self, message: ParkedMessage) -> None:
        consumer = self._consumers.get(message.consumer)
        if consumer is None:  # a consumer this worker does not run: another worker will
            raise LookupError(f"no ordered consumer named {message.consumer!r} here")
        await self._transport.redeliver(
            consumer,
            OutgoingMessage(
                body=message.body,
                key=message.aggregate_key,
                headers=message.headers,
                content_type=message.content_type,
                message_id=message.message_id,
            ),
        )

    async def release_once(self) -> int:
        """One pass: how many parked messages went back to their consumers."""
        return await self._holds.release(self._send)

    async def run(self, stop: asyncio.Event) -> None:
        """Release until ``stop`` is set; wakes when a hold settles, else polls."""
        while not stop.is_set():
            self._wake.clear()
            try:
                if await self.release_once():
                    continue
            except Exception as error:
                _log.warning("releasing parked messages failed; will retry", error=str(error))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self._poll_interval):
                    waits = [asyncio.create_task(event.wait()) for event in (stop, self._wake)]
                    try:
                        await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        for task in waits:
                            task.cancel()
