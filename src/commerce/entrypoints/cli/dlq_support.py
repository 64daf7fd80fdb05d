"""Parsing and presentation for ``commerce dlq``: time filters, tables, secret masking."""

import json
import os
import re
import shlex
import subprocess
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from commerce.platform.delivery.dead_letter_console import pretty_body
from commerce.platform.delivery.dead_letter_store import (
    DeadLetter,
    DeadLetterFilter,
    DeadLetterStatus,
)

__all__ = [
    "StatusChoice",
    "body_text",
    "edit_in_editor",
    "mask_secrets",
    "parse_instant",
    "selection",
    "summary",
    "table",
    "when",
]

_DURATION = re.compile(r"^(\d+)([smhdw])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_SECRET_KEY = re.compile(r"password|secret|token", re.IGNORECASE)


class StatusChoice(StrEnum):
    """``--status``: one status, or ``all``."""

    PARKED = "parked"
    REPLAYED = "replayed"
    PURGED = "purged"
    ALL = "all"


def parse_instant(text: str, *, now: datetime) -> datetime:
    """``2h``, ``30m``, ``7d`` ago, or an ISO 8601 time (UTC when it has no offset)."""
    if match := _DURATION.fullmatch(text.strip()):
        amount, unit = match.groups()
        return now - timedelta(**{_UNITS[unit]: int(amount)})
    try:
        instant = datetime.fromisoformat(text.strip())
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is neither a duration (30m, 2h, 7d) nor an ISO 8601 time"
        ) from None
    return instant if instant.tzinfo else instant.replace(tzinfo=UTC)


def selection(
    *,
    consumer: str | None = None,
    exception: str | None = None,
    reason: str | None = None,
    since: str | None = None,
    until: str | None = None,
    status: StatusChoice = StatusChoice.PARKED,
    now: datetime | None = None,
) -> DeadLetterFilter:
    """The store filter the options describe."""
    moment = now or datetime.now(UTC)
    return DeadLetterFilter(
        consumer=consumer,
        exception_type=exception,
        reason=reason,
        since=parse_instant(since, now=moment) if since else None,
        until=parse_instant(until, now=moment) if until else None,
        status=None if status is StatusChoice.ALL else DeadLetterStatus(status.value),
    )


def mask_secrets(value: Any) -> Any:
    """``value`` with the values of password/secret/token keys masked, recursively."""
    if isinstance(value, dict):
        return {
            k: "********" if _SECRET_KEY.search(str(k)) else mask_secrets(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(item) for item in value]
    return value


def edit_in_editor(text: str) -> str | None:
    """Open ``$VISUAL``/``$EDITOR`` (default ``vi``) on ``text``; the saved text, or ``None``.

    ``None`` when the editor fails (non-zero exit).
    """
    editor = shlex.split(os.environ.get("VISUAL") or os.environ.get("EDITOR") or "vi")
    with tempfile.TemporaryDirectory(prefix="commerce-dlq-") as directory:
        path = Path(directory) / "body.json"
        path.write_text(text + "\n")
        # The operator's own editor, on a file we created: no untrusted input.
        if subprocess.run([*editor, str(path)], check=False).returncode != 0:  # noqa: S603
            return None
        return path.read_text()


def when(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def summary(letter: DeadLetter) -> dict[str, Any]:
    return {
        "id": letter.id,
        "consumer": letter.consumer,
        "channel": letter.channel,
        "message_id": letter.message_id,
        "tenant_id": str(letter.tenant_id) if letter.tenant_id else None,
        "aggregate_key": letter.aggregate_key,
        "reason": letter.reason,
        "exception_type": letter.exception_type,
        "error_message": letter.error_message,
        "attempts": letter.attempts,
        "first_failed_at": letter.first_failed_at.isoformat(),
        "last_failed_at": letter.last_failed_at.isoformat(),
        "status": letter.status.value,
        "archived_at": letter.archived_at.isoformat(),
        "resolved_at": letter.resolved_at.isoformat() if letter.resolved_at else None,
        "replayed_as": letter.replayed_as,
    }


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def body_text(letter: DeadLetter, *, reveal: bool) -> str:
    pretty = pretty_body(letter.body)
    if pretty is not None and not reveal:
        pretty = json.dumps(mask_secrets(json.loads(pretty)), indent=2, ensure_ascii=False)
    return pretty if pretty is not None else repr(letter.body)
