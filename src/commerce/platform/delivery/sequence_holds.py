"""Sequenced dead letters: the holds that keep an ordered consumer's aggregate in order.

When an ordered consumer's message leaves the line (to a delayed retry round or to the
DLQ), the consumer **holds** that aggregate: later messages of the same aggregate are
**parked** here, in arrival order, instead of being handled out of order. The held
message (the *head*) may come back (a retry round, ``dlq replay``) and is let through;
once it succeeds, or an operator purges it, the hold turns **releasing** and its parked
messages are redelivered to the consumer one at a time, oldest first; the hold ends with
the last of them. See ``docs/adr/0012-ordered-consumption.md``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.platform.postgres.engine import driver_of

__all__ = [
    "Admission",
    "HoldState",
    "ParkedMessage",
    "ParkedSender",
    "SequenceHolds",
]


class HoldState(StrEnum):
    """Why an aggregate is held for a consumer."""

    RETRYING = "retrying"
    """The head waits for a delayed retry round."""
    DEAD_LETTERED = "dead-lettered"
    """The head is in the DLQ, waiting for an operator."""
    RELEASING = "releasing"
    """The head is resolved; parked messages are being redelivered in order."""


class Admission(StrEnum):
    """What the gate decides for one message."""

    FREE = "free"
    """No hold: handle it."""
    RESOLVES = "resolves"
    """Held, and this message is the one to handle next: handle it, then :meth:`settle`."""
    PARK = "park"
    """Held behind another message: park it."""


@dataclass(frozen=True, slots=True)
class ParkedMessage:
    """A message parked behind a hold, ready to be redelivered."""

    id: int
    consumer: str
    aggregate_key: str
    message_id: str
    headers: dict[str, str]
    body: bytes
    content_type: str | None


type ParkedSender = Callable[[ParkedMessage], Awaitable[None]]
"""Sends one parked message back to its consumer (with a broker confirm)."""

_GATE = """
    SELECT h.state, h.head_message_id,
           (SELECT p.message_id FROM parked_messages p
             WHERE p.consumer = h.consumer AND p.aggregate_key = h.aggregate_key
             ORDER BY p.id LIMIT 1) AS next_parked
    FROM sequence_holds h
    WHERE h.consumer = $1 AND h.aggregate_key = $2
"""  # every ordered event asks it: asyncpg directly (database.driver_of)
_PARK = text(
    """
    INSERT INTO parked_messages (consumer, aggregate_key, message_id, headers, body, content_type)
    VALUES (:consumer, :key, :message_id, CAST(:headers AS jsonb), :body, :content_type)
    ON CONFLICT (consumer, message_id) DO NOTHING
    """
)
_HOLD = text(
    """
    INSERT INTO sequence_holds (consumer, aggregate_key, head_message_id, state)
    VALUES (:consumer, :key, :message_id, :state)
    ON CONFLICT (consumer, aggregate_key) DO UPDATE
      SET head_message_id = excluded.head_message_id, state = excluded.state, updated_at = now()
    """
)
_UNPARK = text(
    "DELETE FROM parked_messages WHERE consumer = :consumer AND message_id = :message_id"
)
_TO_RELEASING = text(
    """
    UPDATE sequence_holds SET head_message_id = NULL, state = 'releasing', updated_at = now()
    WHERE consumer = :consumer AND aggregate_key = :key
      AND (head_message_id = :message_id OR head_message_id IS NULL)
    """
)
_END_IF_EMPTY = text(
    """
    DELETE FROM sequence_holds h
    WHERE h.consumer = :consumer AND h.aggregate_key = :key AND h.state = 'releasing'
      AND NOT EXISTS (SELECT 1 FROM parked_messages p
                       WHERE p.consumer = h.consumer AND p.aggregate_key = h.aggregate_key)
    """
)
_RELEASABLE = text(
    """
    SELECT p.id, p.consumer, p.aggregate_key, p.message_id, p.headers, p.body, p.content_type
    FROM sequence_holds h
    CROSS JOIN LATERAL (
        SELECT * FROM parked_messages p
        WHERE p.consumer = h.consumer AND p.aggregate_key = h.aggregate_key
        ORDER BY p.id LIMIT 1) p
    WHERE h.state = 'releasing'
      AND (p.released_at IS NULL OR p.released_at < now() - make_interval(secs => :resend_after))
    ORDER BY p.id
    LIMIT :limit
    FOR UPDATE OF p SKIP LOCKED
    """
)
_MARK_RELEASED = text("UPDATE parked_messages SET released_at = now() WHERE id = ANY(:ids)")
_END_EMPTY = text(
    """
    DELETE FROM sequence_holds h
    WHERE h.state = 'releasing'
      AND NOT EXISTS (SELECT 1 FROM parked_messages p
                       WHERE p.consumer = h.consumer AND p.aggregate_key = h.aggregate_key)
    """
)
_FIND_HEAD = text(
    "SELECT aggregate_key FROM sequence_holds WHERE consumer = :consumer"
    " AND head_message_id = :message_id"
)
_REPLACE_HEAD = text(
    "UPDATE sequence_holds SET head_message_id = :new_id, updated_at = now()"
    " WHERE consumer = :consumer AND head_message_id = :message_id"
)


class SequenceHolds:
    """The holds and parked messages of every ordered consumer, in Postgres."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        # The gate's one SELECT needs no transaction of its own: in autocommit it is one
        # round trip instead of three (BEGIN, SELECT, ROLLBACK), for every ordered event.
        self._autocommit = engine.execution_options(isolation_level="AUTOCOMMIT")

    async def admit(self, consumer: str, key: str, message_id: str) -> Admission:
        """Whether ``message_id`` of aggregate ``key`` may be handled by ``consumer`` now."""
        async with self._autocommit.connect() as connection:
            row = await (await driver_of(connection)).fetchrow(_GATE, consumer, key)
        if row is None:
            return Admission.FREE
        if row["head_message_id"] == message_id:
            return Admission.RESOLVES
        if row["head_message_id"] is None and row["next_parked"] == message_id:
            return Admission.RESOLVES
        return Admission.PARK

    async def park(
        self,
        consumer: str,
        key: str,
        message_id: str,
        *,
        headers: Mapping[str, str],
        body: bytes,
        content_type: str | None,
    ) -> bool:
        """Park a message behind its aggregate's hold; ``False`` if the hold has ended.

        Parking twice (a redelivery) keeps the first place in line.
        """
        values = {
            "consumer": consumer,
            "key": key,
            "message_id": message_id,
            "headers": orjson.dumps(dict(headers)).decode(),
            "body": body,
            "content_type": content_type,
        }
        try:
            async with self._engine.begin() as connection:
                await connection.execute(_PARK, values)
        except IntegrityError:  # the hold ended meanwhile (foreign key)
            return False
        return True

    async def hold(self, consumer: str, key: str, message_id: str, state: HoldState) -> None:
        """Hold ``key`` behind ``message_id``, which just left the line (retry or DLQ)."""
        async with self._engine.begin() as connection:
            await connection.execute(
                _HOLD,
                {"consumer": consumer, "key": key, "message_id": message_id, "state": state},
            )

    async def settle(self, consumer: str, key: str, message_id: str) -> None:
        """``message_id`` was handled: unpark it; release the hold, or end it if empty."""
        values = {"consumer": consumer, "key": key, "message_id": message_id}
        async with self._engine.begin() as connection:
            await connection.execute(_UNPARK, values)
            await connection.execute(_TO_RELEASING, values)
            await connection.execute(_END_IF_EMPTY, values)

    async def resolve_head(self, consumer: str, message_id: str) -> bool:
        """An operator gave up on the held ``message_id``: release what is parked behind it."""
        async with self._engine.begin() as connection:
            key = (
                await connection.execute(
                    _FIND_HEAD, {"consumer": consumer, "message_id": message_id}
                )
            ).scalar_one_or_none()
            if key is None:
                return False
            values = {"consumer": consumer, "key": key, "message_id": message_id}
            await connection.execute(_TO_RELEASING, values)
            await connection.execute(_END_IF_EMPTY, values)
        return True

    async def replace_head(self, consumer: str, message_id: str, new_id: str) -> bool:
        """An edited copy (``new_id``) stands in for the held ``message_id``."""
        async with self._engine.begin() as connection:
            result = await connection.execute(
                _REPLACE_HEAD, {"consumer": consumer, "message_id": message_id, "new_id": new_id}
            )
        return bool(getattr(result, "rowcount", 0))

    async def release(
        self, send: ParkedSender, *, limit: int = 100, resend_after: float = 30.0
    ) -> int:
        """Redeliver the oldest parked message of each releasing hold; how many were sent.

        A message released but not handled within ``resend_after`` seconds is sent again
        (the consumer's inbox makes that harmless). Several workers may release at once:
        each parked row goes out through one of them.
        """
        async with self._engine.begin() as connection:
            await connection.execute(_END_EMPTY)
            rows = (
                await connection.execute(
                    _RELEASABLE, {"limit": limit, "resend_after": resend_after}
                )
            ).all()
            parked = [_parked(row) for row in rows]
            for message in parked:
                await send(message)
            await _mark_released(connection, [message.id for message in parked])
        return len(parked)


def _parked(row: Any) -> ParkedMessage:
    headers = row.headers if isinstance(row.headers, dict) else orjson.loads(row.headers)
    return ParkedMessage(
        id=row.id,
        consumer=row.consumer,
        aggregate_key=row.aggregate_key,
        message_id=row.message_id,
        headers={str(k): str(v) for k, v in headers.items()},
        body=bytes(row.body),
        content_type=row.content_type,
    )


async def _mark_released(connection: AsyncConnection, ids: Sequence[int]) -> None:
    if ids:
        await connection.execute(_MARK_RELEASED, {"ids": list(ids)})
