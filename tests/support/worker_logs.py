"""Read what a ``commerce run worker`` process logged (JSON lines) about its messages."""

import json
from dataclasses import dataclass
from typing import Any

from commerce.platform.delivery.redelivery import OUTAGE_LEFT_ON_BROKER

__all__ = ["LoggedMessage", "log_records", "processed", "redelivery_scheduled", "unrouted"]


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
