"""``Result``: the outcome of an operation whose failure is expected, not exceptional.

Exceptions stay the tool for broken rules in commands (they abort the use case and become
a rejection). A ``Result`` is for callers that routinely branch on failure, such as a
query asking for something the service cannot answer (a page cursor it never handed out,
``commerce.registry.query_answers``): the query server answers ``QueryFailed``, and
nothing is read or cached::

    match await queries.answer(tenant, query):
        case Ok(reply):
            ...
        case Err(refusal):
            ...
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal, Never

__all__ = ["Err", "Ok", "Result", "UnwrapError"]


class UnwrapError(Exception):
    """``unwrap`` was called on an :class:`Err` whose error is not an exception."""


@dataclass(frozen=True, slots=True)
class Ok[T]:
    """Success, carrying ``value``."""

    value: T

    def is_ok(self) -> Literal[True]:
        """Always ``True``."""
        return True

    def is_err(self) -> Literal[False]:
        """Always ``False``."""
        return False

    def unwrap(self) -> T:
        """The value."""
        return self.value

    def unwrap_or[D](self, default: D) -> T | D:
        """The value (``default`` is for :class:`Err`)."""
        return self.value

    def map[U](self, fn: Callable[[T], U]) -> Ok[U]:
        """``Ok(fn(value))``."""
        return Ok(fn(self.value))

    def map_err(self, fn: Callable[..., object]) -> Ok[T]:
        """Unchanged: there is no error to map."""
        return self

    def and_then[U, F](self, fn: Callable[[T], Ok[U] | Err[F]]) -> Ok[U] | Err[F]:
        """Chain an operation that may fail on the value."""
        return fn(self.value)


@dataclass(frozen=True, slots=True)
class Err[E]:
    """Failure, carrying ``error`` (typically a :class:`DomainError`)."""

    error: E

    def is_ok(self) -> Literal[False]:
        """Always ``False``."""
        return False

    def is_err(self) -> Literal[True]:
        """Always ``True``."""
        return True

    def unwrap(self) -> Never:
        """Raise the error if it is an exception, else :class:`UnwrapError`."""
        if isinstance(self.error, BaseException):
            raise self.error
        raise UnwrapError(f"unwrap() on Err({self.error!r})")

    def unwrap_or[D](self, default: D) -> D:
        """``default``."""
        return default

    def map(self, fn: Callable[..., object]) -> Err[E]:
        """Unchanged: there is no value to map."""
        return self

    def map_err[F](self, fn: Callable[[E], F]) -> Err[F]:
        """``Err(fn(error))``."""
        return Err(fn(self.error))

    def and_then(self, fn: Callable[..., object]) -> Err[E]:
        """Unchanged: the chain stops at the first error."""
        return self


type Result[T, E] = Ok[T] | Err[E]
"""Either :class:`Ok` with a ``T`` or :class:`Err` with an ``E``."""
