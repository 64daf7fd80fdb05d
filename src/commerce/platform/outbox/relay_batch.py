"""One relay batch: outbox rows grouped by aggregate, in order, as messages to publish.

Rows are mappings (asyncpg records) of ``position``, ``message_id``, ``aggregate_id``,
``stream``, ``headers``, ``body`` (ready-to-send bytes) and ``settled``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog

from commerce.platform.messaging.envelope import (
    CONTENT_TYPE,
    SPEC_VERSION,
    EnvelopeError,
    HeaderStyle,
    parse_envelope,
)
from commerce.platform.messaging.transport import OutgoingMessage

__all__ = ["Line", "message_of", "outbox_lines"]

type Line = list[tuple[Any, OutgoingMessage]]
"""One aggregate's rows of a batch, in position order, each with its message."""

_MAX_ERROR = 2_000
_log = structlog.get_logger("commerce.relay")


def outbox_lines(
    rows: Sequence[Any], style: HeaderStyle
) -> tuple[list[Line], list[tuple[int, str]]]:
    """Each aggregate's rows to publish, in order, and the unreadable rows (with why).

    An aggregate's rows are taken up to the first one not yet *settled* (its
    transaction id not below the oldest running transaction): a transaction that took
    its id early can commit a later version of an aggregate after a younger
    transaction committed the earlier one, and the later version must still wait.
    """
    lines: dict[tuple[str, str], Line] = {}
    waiting: set[tuple[str, str]] = set()
    unreadable: list[tuple[int, str]] = []
    for row in rows:
        aggregate = (row["stream"], row["aggregate_id"])
        if aggregate in waiting or not row["settled"]:
            waiting.add(aggregate)
            continue
        try:
            message = message_of(row, style)
        except (EnvelopeError, TypeError, ValueError) as error:
            position = row["position"]
            _log.error("outbox row parked: unreadable", position=position, error=str(error))
            unreadable.append((position, str(error)[:_MAX_ERROR]))
            continue
        lines.setdefault(aggregate, []).append((row, message))
    return list(lines.values()), unreadable


def message_of(row: Any, style: HeaderStyle) -> OutgoingMessage:
    """The row as a message; raises (the row is parked) if its envelope is unreadable.

    Rows are written by :class:`~commerce.platform.outbox.writer.OutboxWriter` with RabbitMQ
    style headers and the encoded body: a row whose essential attributes are all there goes
    out as it is (renamed for Kafka); anything else is read in full, which says what is
    wrong.
    """
    message_id = str(row["message_id"])
    headers: dict[str, str] = row["headers"]
    if not _whole(headers, message_id):
        parse_envelope(headers)  # raises EnvelopeError naming the problem
    if style is HeaderStyle.KAFKA:
        headers = {_KAFKA_NAMES.get(name, name): value for name, value in headers.items()}
        headers.setdefault("content-type", CONTENT_TYPE)
    return OutgoingMessage(
        body=row["body"],
        key=row["aggregate_id"],
        headers=headers,
        content_type=CONTENT_TYPE,
        message_id=message_id,
    )


_ESSENTIAL = ("ce-type", "ce-source", "ce-time", "ce-tenantid")
_KAFKA_NAMES = {
    f"ce-{name}": f"ce_{name}"
    for name in [
        "specversion",
        "id",
        "source",
        "type",
        "time",
        "subject",
        "tenantid",
        "correlationid",
        "causationid",
        "aggregateversion",
    ]
}


def _whole(headers: Any, message_id: str) -> bool:
    """Whether a stored row's headers carry the envelope it was written with."""
    return (
        isinstance(headers, dict)
        and headers.get("ce-specversion") == SPEC_VERSION
        and headers.get("ce-id") == message_id
        and all(isinstance(headers.get(name), str) and headers[name] for name in _ESSENTIAL)
    )
