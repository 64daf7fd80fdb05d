"""Domain errors: expected rule violations, never retried, reported to the sender."""

from __future__ import annotations

__all__ = [
    "AmountOutOfRange",
    "CurrencyMismatch",
    "DomainError",
    "IllegalTransition",
    "InconsistentEventStream",
    "InvalidValue",
    "NotFound",
    "RateLimited",
]


class DomainError(Exception):
    """A business rule refused the operation. ``code`` is stable and machine-readable."""

    code = "domain_error"
    retry_after_seconds: float | None = None
    """Seconds after which the same command may be accepted; ``None`` for a rule that
    holds however long the sender waits (every error but :class:`RateLimited`)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidValue(DomainError):
    """A value object was given a value outside its domain."""

    code = "invalid_value"


class CurrencyMismatch(InvalidValue):
    """Two amounts of different currencies were combined or compared."""

    code = "currency_mismatch"


class AmountOutOfRange(InvalidValue):
    """An amount does not fit in a signed 64-bit count of minor units."""

    code = "amount_out_of_range"


class IllegalTransition(DomainError):
    """The aggregate's current state does not allow the requested operation."""

    code = "illegal_transition"


class NotFound(DomainError):
    """The command addresses an aggregate this tenant does not have."""

    code = "not_found"


class RateLimited(DomainError):
    """The sender or its tenant sent more commands than its fair share; try again later."""

    code = "rate-limited"

    def __init__(self, reason: str, *, retry_after_seconds: float) -> None:
        super().__init__(reason)
        self.retry_after_seconds = retry_after_seconds


class InconsistentEventStream(Exception):
    """Events replayed out of order, for another aggregate, or in an impossible sequence.

    Not a :class:`DomainError`: a stream the aggregate recorded itself is always
    consistent, so this signals corrupted storage or a bug and must not be reported to a
    sender as a refused command.
    """
