"""Read what a ``commerce run worker`` process logged (JSON lines) about its messages."""

import json
from dataclasses import dataclass
from typing import Any

from commerce.platform.delivery.redelivery import OUTAGE_LEFT_ON_BROKER

__all__ = [
    "LoggedMessage",
    "delivered_again",
    "log_records",
    "processed",
    "redelivery_scheduled",
    "unrouted",
]


@dataclass(frozen=True, slots=True)
class LoggedMessage:
    """One log line about one message: which consumer, and its outcome or retry round."""

    message_id: str
    consumer: str
    detail: str
    """``outcome`` of a processed message; ``round`` of a scheduled redelivery."""


def log_records(log: str) -> list[dict[str, Any]]:
    """Every JSON record of ``log``, in order (other lines, e.g. a traceback, skipped)."""
    records = []
    for line in log.splitlines():
        if line.startswith("{"):
            try:
                records.append(json.loads(line))
            except ValueError:  # a line cut short by SIGKILL
                continue
    return records


def _about(log: str, event: str, detail: str) -> list[LoggedMessage]:
    return [
        LoggedMessage(str(record["message_id"]), str(record["consumer"]), str(record[detail]))
        for record in log_records(log)
        if record.get("event") == event and "message_id" in record
    ]


def processed(log: str) -> list[LoggedMessage]:
    """Each ``command processed`` line (commands and events alike), ``detail`` = outcome."""
    return _about(log, "command processed", "outcome")


def redelivery_scheduled(log: str) -> list[LoggedMessage]:
    """Each message sent to a delayed retry round through the broker, ``detail`` = round."""
    return _about(log, "message redelivery scheduled", "round")


def unrouted(log: str) -> list[LoggedMessage]:
    """Each failed message the worker could not send on (the broker or the database was
    away), or whose failure was an outage (docs/adr/0023), so the broker delivered it
    again; ``detail`` = where it was to go, or the dependency that was down."""
    return [
        *_about(log, "failure not routed; the broker delivers the message again", "target"),
        *_about(log, OUTAGE_LEFT_ON_BROKER, "dependency"),
    ]


def delivered_again(log: str) -> set[tuple[str, str]]:
    """``(message id, consumer)`` of each message the broker delivered more than once
    without a line saying why: after a worker's SIGKILL or a broker restart, a new delivery
    starts its attempts at 1 again, and each delivery is processed at most once."""
    first_attempts: dict[tuple[str, str], int] = {}
    for failure in _about(log, "transient failure; retrying at once", "attempt"):
        if failure.detail == "1":
            key = (failure.message_id, failure.consumer)
            first_attempts[key] = first_attempts.get(key, 0) + 1
    handled: dict[tuple[str, str], int] = {}
    for message in processed(log):
        key = (message.message_id, message.consumer)
        handled[key] = handled.get(key, 0) + 1
    return {key for key, count in (*first_attempts.items(), *handled.items()) if count > 1}
