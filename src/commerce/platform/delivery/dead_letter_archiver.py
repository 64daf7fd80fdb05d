"""The DLQ archiver: every consumer's dead letters become rows of the dead-letter store.

One archiver subscribes to each consumer's DLQ channel; operators then work on the rows
through :class:`commerce.platform.delivery.dead_letter_console.DeadLetterConsole`. See
``docs/adr/0006-dead-letter-store-and-tooling.md``.
"""

# No ``from __future__ import annotations``: FastStream resolves the archiver's parameter
# annotations at subscription time, and string annotations on a callable instance fail.
import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import structlog
from faststream import Context, StreamMessage

from commerce.platform.delivery.dead_letter_store import DeadLetterStore, record_from
from commerce.platform.delivery.fault_events import FaultAnnouncer
from commerce.platform.kit.clock import SystemClock
from commerce.platform.messaging.channels import Consumer
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.transport import Transport

__all__ = ["ARCHIVER_GROUP", "DeadLetterArchiver"]

ARCHIVER_GROUP = "commerce.dead-letter-archiver"
"""The Kafka consumer group of every DLQ archiver (on RabbitMQ the DLQ queue is its own)."""

_SYSTEM_CLOCK = SystemClock()
_log = structlog.get_logger("commerce.dead_letters")


def _short(error: BaseException) -> str:
    """The error's type and first line, without the statement and its parameters."""
    cause = getattr(error, "orig", None) or error
    first = str(cause).strip().splitlines()[0] if str(cause).strip() else ""
    return f"{type(cause).__name__}: {first[:200]}"


class DeadLetterArchiver:
    """FastStream handler of one consumer's DLQ channel: each message becomes a row.

    It never dead-letters anything itself: when the store cannot take a message it waits
    ``retry_after`` seconds (no hot redelivery loop) and fails, so the broker redelivers
    it; a message archived before (a redelivery) is acknowledged without a second row.
    With ``faults``, a command's technical dead letter is announced as ``CommandFaulted``
    in the same transaction as its row, so a redelivery announces nothing twice.
    """

    def __init__(
        self,
        store: DeadLetterStore,
        transport: Transport,
        channel: Consumer,
        *,
        faults: FaultAnnouncer | None = None,
        retry_after: float = 1.0,
        clock: Callable[[], datetime] = _SYSTEM_CLOCK.now,
    ) -> None:
        self._store = store
        self._faults = faults
        self._transport = transport
        self._channel = channel
        self.__name__ = "archive_dead_letter"  # FastStream names the operation after it
        self._retry_after = retry_after
        self._clock = clock

    async def __call__(
        self, body: bytes, message: Annotated[StreamMessage[Any], Context("message")]
    ) -> None:
        """Archive one dead letter (``body`` is the raw bytes, never decoded)."""
        raw = self._transport.raw(message.raw_message)
        record = record_from(
            raw,
            consumer=self._channel.consumer,
            channel=self._channel.source,
            now=self._clock(),
            key_is_aggregate=self._transport.style is HeaderStyle.KAFKA,
        )
        then = self._faults.staging_for(record, self._channel) if self._faults else None
        try:
            added = await self._store.add(record, then=then)
        except Exception as error:
            _log.error(
                "dead letter not archived; the broker will redeliver it",
                consumer=record.consumer,
                message_id=record.message_id,
                error=_short(error),
            )
            await asyncio.sleep(self._retry_after)
            raise
        _log.info(
            "dead letter archived" if added else "dead letter already archived",
            consumer=record.consumer,
            message_id=record.message_id,
            reason=record.reason,
            fault_event=added and then is not None,
        )
