"""Which integration events an endpoint receives: event types with ``*`` wildcards."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from commerce.platform.kit.errors import InvalidValue

__all__ = ["EventFilter"]

PATTERN = re.compile(r"^[A-Za-z0-9_.*-]{1,200}$")


@dataclass(frozen=True, slots=True)
class EventFilter:
    """Event-type patterns; ``*`` matches any run of characters (``commerce.orders.*``).

    An empty filter matches every event type.
    """

    patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for pattern in self.patterns:
            if not PATTERN.fullmatch(pattern):
                raise InvalidValue(f"invalid event type pattern {pattern!r}")

    @classmethod
    def of(cls, patterns: Iterable[str]) -> EventFilter:
        """A filter of ``patterns``, deduplicated and sorted."""
        return cls(tuple(sorted(set(patterns))))

    def matches(self, event_type: str) -> bool:
        """Whether an event of ``event_type`` goes to the endpoint."""
        if not self.patterns:
            return True
        return any(_regex(pattern).fullmatch(event_type) for pattern in self.patterns)


def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
