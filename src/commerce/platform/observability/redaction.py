"""Keep secrets out of log lines and operator-facing error text.

Two nets, applied to every string of a log event (including the rendered exception):

* the known secrets, registered at start-up from the settings (each ``SecretStr``; of a
  URL, its password), are replaced by ``***`` wherever they appear;
* any ``scheme://user:password@`` in text loses its password, even one we never saw
  (a DSN echoed by a driver's error message).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, MutableMapping
from typing import Any
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel, SecretStr

__all__ = ["MASK", "Redactor", "redact_event", "redactor", "secrets_in"]

MASK = "***"
_URL_PASSWORD = re.compile(
    r"(?P<prefix>\b[a-z][a-z0-9+.\-]*://[^\s:/@'\"]*:)(?P<password>[^\s@/'\"]+)(?P<at>@)",
    re.IGNORECASE,
)
_MIN_SECRET = 4
"""Shorter values are not masked on their own (masking ``"a"`` everywhere is noise)."""


class Redactor:
    """Replaces registered secrets and URL passwords in text."""

    def __init__(self) -> None:
        self._secrets: tuple[str, ...] = ()

    def register(self, secrets: Iterable[str]) -> None:
        """Add ``secrets``; of a URL only its password (raw and percent-decoded) is secret.

        A URL without a password (``redis://host:6379/0``) is an address, not a secret.
        """
        found = set(self._secrets)
        for secret in secrets:
            if "://" not in secret:
                found.add(secret)
            elif password := urlsplit(secret).password:
                found.update({password, unquote(password)})
        kept = (value for value in found if len(value) >= _MIN_SECRET)
        self._secrets = tuple(sorted(kept, key=len, reverse=True))

    def text(self, value: str) -> str:
        """``value`` with every known secret and URL password masked."""
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        if "://" not in value:  # no URL, nothing for the pattern to find (the common case)
            return value
        return _URL_PASSWORD.sub(rf"\g<prefix>{MASK}\g<at>", value)

    def value(self, value: Any) -> Any:
        """Mask strings inside ``value`` (nested dicts, lists and tuples too)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.value(item) for item in value)
        return value


redactor = Redactor()
"""The process's redactor: logging masks with it, bootstrap registers the secrets."""


def redact_event(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: mask secrets in every value (run after ``format_exc_info``)."""
    for key, value in event.items():
        event[key] = redactor.value(value)
    return event


def secrets_in(model: BaseModel) -> list[str]:
    """Every ``SecretStr`` value in ``model`` and its nested models."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secrets_in(value))
    return found
