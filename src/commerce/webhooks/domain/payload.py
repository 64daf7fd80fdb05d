"""The body of a webhook: the integration event's CloudEvent in structured JSON mode.

Over the size limit (or when the endpoint asks for it) the body is the thin envelope: the
CloudEvent's attributes without ``data``, plus ``datatruncated: true``, so the receiver
still learns what happened and fetches the rest through the API.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = ["webhook_body"]


def _encode(document: Mapping[str, Any]) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_body(cloud_event: Mapping[str, Any], max_bytes: int, *, thin: bool = False) -> bytes:
    """The exact bytes sent (and signed) for ``cloud_event``."""
    if not thin:
        full = _encode(cloud_event)
        if len(full) <= max_bytes:
            return full
    attributes = {key: value for key, value in cloud_event.items() if key != "data"}
    return _encode({**attributes, "datatruncated": True})
