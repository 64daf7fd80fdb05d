"""Dead letters for operators: the console that lists, replays, edits and purges what the
archiver (:mod:`commerce.platform.delivery.dead_letter_archiver`) put in the store
(ServicePulse-style).

A **replay** sends the original body and headers, minus ``x-fault-*`` and ``x-retry-*``, to
the original channel with the same CloudEvents id: if the message was in fact applied
before it failed, the consumer's inbox recognises it and nothing happens twice. An
**edit** sends a corrected copy with a new id (UUIDv7) and a ``replayed-from`` header.
Either goes through the consumer like any other message. See
``docs/adr/0006-dead-letter-store-and-tooling.md``.

For an ordered event consumer the letter goes back to that consumer alone, and its hold
follows: an edited copy takes the original's place at the head; purging the head releases
the events parked behind it (``docs/adr/0012-ordered-consumption.md``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Self

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from commerce.platform.delivery.dead_letter_archiver import ARCHIVER_GROUP, DeadLetterArchiver
from commerce.platform.delivery.dead_letter_store import (
    DeadLetter,
    DeadLetterFilter,
    DeadLetterStore,
)
from commerce.platform.delivery.faults import FAULT_PREFIX
from commerce.platform.delivery.sequence_holds import SequenceHolds
from commerce.platform.kit.ids import new_uuid7
from commerce.platform.messaging.channels import CommandChannel, Consumer, EventConsumer
from commerce.platform.messaging.envelope import HeaderStyle
from commerce.platform.messaging.transport import OutgoingMessage, Transport

# ARCHIVER_GROUP and DeadLetterArchiver are defined in dead_letter_archiver; they are
# importable from here too, as the composition root imports them.
__all__ = [
    "ARCHIVER_GROUP",
    "REPLAYED_FROM",
    "DeadLetterArchiver",
    "DeadLetterConsole",
    "DeadLetterNotFoundError",
    "InvalidDeadLetterEditError",
    "Replayed",
    "headers_id",
    "pretty_body",
    "replay_headers",
]

REPLAYED_FROM = "replayed-from"
"""Header of an edited copy: the message id of the dead letter it corrects."""

_STRIPPED_PREFIXES = (FAULT_PREFIX, "x-retry-")
_log = structlog.get_logger("commerce.dead_letters")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeadLetterNotFoundError(LookupError):
    """No archived dead letter has the id(s) asked for."""


class InvalidDeadLetterEditError(ValueError):
    """An edited body is not valid JSON."""


def replay_headers(headers: dict[str, str]) -> dict[str, str]:
    """The original headers: without the failure's ``x-fault-*`` and ``x-retry-*``.

    Dropping ``x-retry-*`` gives the replay a fresh retry budget and no not-before time.
    """
    return {k: v for k, v in headers.items() if not k.lower().startswith(_STRIPPED_PREFIXES)}


def _with_new_id(
    headers: dict[str, str], *, new_id: str, replayed_from: str, style: HeaderStyle
) -> dict[str, str]:
    id_headers = [k for k in headers if k.lower() in ("ce-id", "ce_id")]
    renamed = dict.fromkeys(id_headers, new_id) or {f"{style}id": new_id}
    return headers | renamed | {REPLAYED_FROM: replayed_from}


def headers_id(headers: dict[str, str]) -> str:
    """The CloudEvents id among ``headers`` (either binding), or ``""``."""
    return next((v for k, v in headers.items() if k.lower() in ("ce-id", "ce_id")), "")


def pretty_body(body: bytes) -> str | None:
    """``body`` as indented JSON, or ``None`` when it is not JSON."""
    try:
        return json.dumps(json.loads(body), indent=2, ensure_ascii=False)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True, slots=True)
class Replayed:
    """What a replay or an edit sent."""

    letter_id: int
    message_id: str
    channel: str


class DeadLetterConsole:
    """Operators' view of the store; replays and edits are published on ``transport``.

    Use as ``async with``: the broker connects on the first publish; leaving closes it and
    disposes ``engine`` (the owner's, which the console owns).
    """

    def __init__(
        self,
        engine: AsyncEngine,
        transport: Transport,
        *,
        channels: Iterable[Consumer],
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._engine = engine
        self._store = DeadLetterStore(engine)
        self._holds = SequenceHolds(engine)
        self._transport = transport
        self._consumers = {channel.consumer: channel for channel in channels}
        self._clock = clock
        self._broker_started = False

    async def __aenter__(self) -> Self:
        """Nothing to open yet."""
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Disconnect the broker (if used) and release database connections."""
        try:
            if self._broker_started:
                await self._transport.broker.stop()
        finally:
            await self._engine.dispose()

    async def find(
        self, where: DeadLetterFilter, *, limit: int = 50, offset: int = 0
    ) -> list[DeadLetter]:
        """A page of matching dead letters, most recent failure first."""
        return await self._store.find(where, limit=limit, offset=offset)

    async def count(self, where: DeadLetterFilter) -> int:
        """How many dead letters match."""
        return await self._store.count(where)

    async def show(self, letter_id: int) -> DeadLetter:
        """One dead letter; :class:`DeadLetterNotFoundError` when there is none."""
        letter = await self._store.get(letter_id)
        if letter is None:
            raise DeadLetterNotFoundError(f"no dead letter with id {letter_id}")
        return letter

    async def select(self, ids: Sequence[int], where: DeadLetterFilter | None) -> list[int]:
        """``ids`` if they all exist, else every match of ``where`` (archive order)."""
        if ids:
            missing = sorted(set(ids) - await self._store.existing(ids))
            if missing:
                listed = ", ".join(map(str, missing))
                raise DeadLetterNotFoundError(f"no dead letter with id {listed}")
            return list(dict.fromkeys(ids))
        return await self._store.ids(where or DeadLetterFilter())

    async def _publish(self, letter: DeadLetter, headers: dict[str, str], body: bytes) -> str:
        if not self._broker_started:
            await self._transport.broker.start()
            self._broker_started = True
        message_id = headers_id(headers) or letter.message_id
        message = OutgoingMessage(
            body=body,
            key=letter.aggregate_key or "",
            headers=headers,
            content_type=letter.content_type,
            message_id=message_id,
        )
        consumer = self._consumers.get(letter.consumer)
        if isinstance(consumer, CommandChannel):
            await self._transport.send_command(consumer, message)
        elif isinstance(consumer, EventConsumer):
            await self._transport.redeliver(consumer, message)
        else:
            await self._transport.send_to_channel(letter.channel, message)
        return message_id

    async def replay(self, letter_id: int) -> Replayed:
        """Send the original message again (same id), then mark it replayed.

        Marked after the broker confirmed: if marking fails, replaying again is harmless.
        """
        letter = await self.show(letter_id)
        message_id = await self._publish(letter, replay_headers(letter.headers), letter.body)
        await self._store.mark_replayed(letter_id, at=self._clock())
        _log.info("dead letter replayed", letter_id=letter_id, message_id=message_id)
        return Replayed(letter_id, message_id, letter.channel)

    async def edit(self, letter_id: int, body: bytes) -> Replayed:
        """Send a corrected copy with a new id and ``replayed-from``; mark the original."""
        try:
            json.loads(body)
        except (ValueError, UnicodeDecodeError) as error:
            raise InvalidDeadLetterEditError(f"the edited body is not JSON: {error}") from None
        letter = await self.show(letter_id)
        headers = _with_new_id(
            replay_headers(letter.headers),
            new_id=str(new_uuid7()),
            replayed_from=letter.message_id,
            style=self._transport.style,
        )
        await self._holds.replace_head(letter.consumer, letter.message_id, headers_id(headers))
        message_id = await self._publish(letter, headers, body)
        await self._store.mark_replayed(letter_id, at=self._clock(), replayed_as=message_id)
        _log.info("dead letter edited and replayed", letter_id=letter_id, message_id=message_id)
        return Replayed(letter_id, message_id, letter.channel)

    async def purge(self, ids: Sequence[int], *, hard: bool = False) -> int:
        """Mark ``ids`` purged, or delete them (``hard``); returns how many changed.

        A purged letter that holds its aggregate for an ordered consumer releases the
        events parked behind it.
        """
        for letter_id in ids:
            letter = await self._store.get(letter_id)
            if letter is not None:
                await self._holds.resolve_head(letter.consumer, letter.message_id)
        count = await self._store.purge(ids, at=self._clock(), hard=hard)
        _log.info("dead letters purged", count=count, hard=hard)
        return count
