"""The dead-letter store: every consumer's DLQ messages, archived for operators.

The archiver (:mod:`commerce.platform.delivery.dead_letter_console`) turns each message of a
``<consumer>.dlq`` channel into a :class:`DeadLetterRecord` with :func:`record_from` and
:meth:`DeadLetterStore.add` s it; operators list, replay, edit and purge rows (see
``docs/adr/0006-dead-letter-store-and-tooling.md``). The table has no row-level security:
tenant-less messages are exactly what lands here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, Select, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from commerce.platform.delivery.faults import FAULT_PREFIX
from commerce.platform.messaging.transport import RawMessage
from commerce.platform.postgres.tables import dead_letters

__all__ = [
    "AlsoOnArchive",
    "DeadLetter",
    "DeadLetterFilter",
    "DeadLetterRecord",
    "DeadLetterStatus",
    "DeadLetterStore",
    "ce_attribute",
    "record_from",
]

type AlsoOnArchive = Callable[[AsyncConnection], Awaitable[None]]
"""More work for the transaction that archives a new dead letter."""


class DeadLetterStatus(StrEnum):
    """Where an archived dead letter stands."""

    PARKED = "parked"
    """Waiting for an operator."""
    REPLAYED = "replayed"
    """Sent again to its channel (as is, or edited: see ``replayed_as``)."""
    PURGED = "purged"
    """Given up on; kept for the record until deleted with ``--hard``."""


@dataclass(frozen=True, slots=True)
class DeadLetterRecord:
    """A dead letter as archived: the original message plus why it failed."""

    consumer: str
    channel: str
    message_id: str
    """The CloudEvents id, else ``sha256:<hex>`` of body and headers (bad input may lack one)."""
    tenant_id: UUID | None
    aggregate_key: str | None
    reason: str
    exception_type: str
    error_message: str
    stack: str
    attempts: int
    first_failed_at: datetime
    last_failed_at: datetime
    headers: dict[str, str]
    """Every header as delivered to the DLQ, ``x-fault-*`` included."""
    body: bytes
    content_type: str | None


@dataclass(frozen=True, slots=True)
class DeadLetter(DeadLetterRecord):
    """An archived dead letter: the record, its id and what operators did with it."""

    id: int
    status: DeadLetterStatus
    archived_at: datetime
    resolved_at: datetime | None
    replayed_as: str | None


@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters an operator means; ``None`` fields do not filter.

    ``exception_type`` matches the qualified name or its last part(s) (``ConnectionError``
    matches ``builtins.ConnectionError``); ``since`` (inclusive) and ``until`` (exclusive)
    bound the last failure time.
    """

    consumer: str | None = None
    exception_type: str | None = None
    reason: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    status: DeadLetterStatus | None = DeadLetterStatus.PARKED

    def __post_init__(self) -> None:
        for bound in (self.since, self.until):
            if bound is not None and bound.tzinfo is None:
                raise ValueError("since/until must be timezone-aware")

    def conditions(self) -> list[ColumnElement[bool]]:
        """The ``WHERE`` conditions of this filter."""
        c = dead_letters.c
        where: list[ColumnElement[bool]] = []
        if self.consumer is not None:
            where.append(c.consumer == self.consumer)
        if self.exception_type is not None:
            suffix = self.exception_type.replace("\\", "\\\\").replace("%", r"\%")
            suffix = suffix.replace("_", r"\_")
            where.append(
                or_(
                    c.exception_type == self.exception_type,
                    c.exception_type.like(f"%.{suffix}", escape="\\"),
                )
            )
        if self.reason is not None:
            where.append(c.reason == self.reason)
        if self.since is not None:
            where.append(c.last_failed_at >= self.since)
        if self.until is not None:
            where.append(c.last_failed_at < self.until)
        if self.status is not None:
            where.append(c.status == self.status.value)
        return where


_CE_PREFIXES = ("ce-", "ce_")


def _clean(text: str) -> str:
    """Postgres text and jsonb cannot hold NUL characters."""
    return text.replace("\x00", "\ufffd")


def ce_attribute(headers: Mapping[str, str], name: str) -> str | None:
    """CloudEvents attribute ``name`` from ``ce-`` or ``ce_`` headers (any case), if set."""
    lowered = {k.lower(): v for k, v in headers.items()}
    return next((v for p in _CE_PREFIXES if (v := lowered.get(p + name))), None)


def _instant(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _fingerprint(raw: RawMessage) -> str:
    digest = hashlib.sha256(raw.body)
    for name, value in sorted(raw.headers.items()):
        digest.update(f"\x00{name}\x00{value}".encode(errors="replace"))
    return f"sha256:{digest.hexdigest()}"


def record_from(
    raw: RawMessage, *, consumer: str, channel: str, now: datetime, key_is_aggregate: bool
) -> DeadLetterRecord:
    """Read a DLQ message: its fault headers, identity and tenant, tolerating bad input.

    ``channel``: the consumer's channel, used when the message names none. A missing
    failure time is read as ``now`` (first failure: the last one). ``key_is_aggregate``:
    the transport key is the aggregate id (Kafka), not a queue name (RabbitMQ).
    """
    headers = {_clean(k): _clean(v) for k, v in raw.headers.items()}

    def fault(name: str) -> str:
        return headers.get(f"{FAULT_PREFIX}{name}", "")

    tenant_text = ce_attribute(headers, "tenantid")
    try:
        tenant = UUID(tenant_text) if tenant_text else None
    except ValueError:
        tenant = None
    last = _instant(fault("last-failure-at")) or _instant(fault("first-failure-at")) or now
    attempts = fault("attempts")
    return DeadLetterRecord(
        consumer=consumer,
        channel=fault("channel") or channel,
        message_id=ce_attribute(headers, "id") or _fingerprint(raw),
        tenant_id=tenant,
        aggregate_key=ce_attribute(headers, "subject") or (raw.key if key_is_aggregate else None),
        reason=fault("reason") or "unknown",
        exception_type=fault("exception-type"),
        error_message=fault("message"),
        stack=fault("stack"),
        attempts=int(attempts) if attempts.isdigit() else 0,
        first_failed_at=_instant(fault("first-failure-at")) or last,
        last_failed_at=last,
        headers=headers,
        body=raw.body,
        content_type=_clean(raw.content_type) if raw.content_type else None,
    )


_COLUMNS = [dead_letters.c[f.name] for f in fields(DeadLetter)]
_RECORD_FIELDS = tuple(f.name for f in fields(DeadLetterRecord))


def _letter(row: Any) -> DeadLetter:
    values = dict(row._mapping)
    values["status"] = DeadLetterStatus(values["status"])
    values["body"] = bytes(values["body"])
    return DeadLetter(**values)


class DeadLetterStore:
    """Postgres ``dead_letters``: the archiver inserts (app role), operators manage (owner)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def add(self, record: DeadLetterRecord, *, then: AlsoOnArchive | None = None) -> bool:
        """Archive ``record``; ``False`` when it was archived before (a redelivery).

        ``then`` runs in the same transaction, only when the row is new: what it writes
        (the command's fault event in the outbox) commits with the row or not at all.
        """
        values = {name: getattr(record, name) for name in _RECORD_FIELDS}
        # The app role may only INSERT: inline() leaves out RETURNING id, and a conflict
        # target would need SELECT on its columns. The only unique key besides the (always
        # generated) id is (consumer, message_id, last_failed_at).
        statement = insert(dead_letters).inline().values(**values).on_conflict_do_nothing()
        async with self._engine.begin() as connection:
            added = (await connection.execute(statement)).rowcount == 1
            if added and then is not None:
                await then(connection)
            return added

    def _select(self, where: DeadLetterFilter) -> Select[Any]:
        return select(*_COLUMNS).where(*where.conditions())

    async def find(
        self, where: DeadLetterFilter, *, limit: int = 50, offset: int = 0
    ) -> list[DeadLetter]:
        """A page of matching dead letters, most recent failure first."""
        statement = (
            self._select(where)
            .order_by(dead_letters.c.last_failed_at.desc(), dead_letters.c.id.desc())
            .limit(limit)
            .offset(offset)
        )
        async with self._engine.connect() as connection:
            return [_letter(row) for row in await connection.execute(statement)]

    async def count(self, where: DeadLetterFilter) -> int:
        """How many dead letters match."""
        statement = select(func.count()).select_from(dead_letters).where(*where.conditions())
        async with self._engine.connect() as connection:
            return int((await connection.execute(statement)).scalar_one())

    async def ids(self, where: DeadLetterFilter) -> list[int]:
        """Ids of every match, in archive order (the order to replay them in)."""
        statement = select(dead_letters.c.id).where(*where.conditions()).order_by(dead_letters.c.id)
        async with self._engine.connect() as connection:
            return list((await connection.execute(statement)).scalars())

    async def get(self, letter_id: int) -> DeadLetter | None:
        """One dead letter, or ``None``."""
        statement = select(*_COLUMNS).where(dead_letters.c.id == letter_id)
        async with self._engine.connect() as connection:
            row = (await connection.execute(statement)).first()
        return None if row is None else _letter(row)

    async def existing(self, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` exist."""
        statement = select(dead_letters.c.id).where(dead_letters.c.id.in_(list(ids)))
        async with self._engine.connect() as connection:
            return set((await connection.execute(statement)).scalars())

    async def mark_replayed(
        self, letter_id: int, *, at: datetime, replayed_as: str | None = None
    ) -> None:
        """Record that ``letter_id`` was sent again (edited: as message ``replayed_as``)."""
        statement = (
            update(dead_letters)
            .where(dead_letters.c.id == letter_id)
            .values(status=DeadLetterStatus.REPLAYED.value, resolved_at=at, replayed_as=replayed_as)
        )
        async with self._engine.begin() as connection:
            await connection.execute(statement)

    async def purge(self, ids: Iterable[int], *, at: datetime, hard: bool = False) -> int:
        """Mark ``ids`` purged (``hard``: delete them); returns how many rows changed."""
        wanted = list(ids)
        if hard:
            statement: Any = delete(dead_letters).where(dead_letters.c.id.in_(wanted))
        else:
            statement = (
                update(dead_letters)
                .where(
                    dead_letters.c.id.in_(wanted),
                    dead_letters.c.status != DeadLetterStatus.PURGED.value,
                )
                .values(status=DeadLetterStatus.PURGED.value, resolved_at=at)
            )
        async with self._engine.begin() as connection:
            return int((await connection.execute(statement)).rowcount)
