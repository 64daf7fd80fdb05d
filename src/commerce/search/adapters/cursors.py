"""Opaque page cursors shared by the search backends: the offset of the next page."""

from __future__ import annotations

import base64
import binascii
import json

__all__ = ["InvalidCursorError", "decode_cursor", "encode_cursor"]


class InvalidCursorError(ValueError):
    """The cursor was not one this service handed out."""


def encode_cursor(offset: int) -> str:
    """The cursor of the page starting at ``offset``."""
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()


def decode_cursor(cursor: str | None) -> int:
    """The offset a cursor stands for (0 without one)."""
    if cursor is None:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(cursor.encode()))["o"]
    except (binascii.Error, ValueError, KeyError, TypeError) as error:
        raise InvalidCursorError(f"not a search cursor: {cursor!r}") from error
    if not isinstance(offset, int) or offset < 0:
        raise InvalidCursorError(f"not a search cursor: {cursor!r}")
    return offset
