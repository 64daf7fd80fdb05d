"""The Specification pattern: named business rules that compose with ``&``, ``|`` and ``~``.

A specification answers one yes/no question about a candidate. Aggregates use them to
enforce a rule, use cases to check it before acting, queries to describe it, all from one
definition::

    ITEM_IS_ORDERABLE = ItemIsActive() & ItemHasPositivePrice()
    if not ITEM_IS_ORDERABLE.is_satisfied_by(snapshot):
        ...

Composition obeys Boolean algebra: ``~(a & b) == ~a | ~b`` (De Morgan), ``~~a == a``,
``a & Always() == a``, ``a | Never() == a`` (as predicates, for every candidate).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

__all__ = [
    "Always",
    "AndSpecification",
    "Never",
    "NotSpecification",
    "OrSpecification",
    "Predicate",
    "Specification",
]


class Specification[T](ABC):
    """A business rule about a ``T``: ``is_satisfied_by(candidate)``."""

    __slots__ = ()

    @abstractmethod
    def is_satisfied_by(self, candidate: T) -> bool:
        """Whether ``candidate`` satisfies the rule."""

    @property
    def description(self) -> str:
        """A human-readable statement of the rule (the class name by default)."""
        return type(self).__name__

    def __and__(self, other: Specification[T]) -> Specification[T]:
        return AndSpecification(self, other)

    def __or__(self, other: Specification[T]) -> Specification[T]:
        return OrSpecification(self, other)

    def __invert__(self) -> Specification[T]:
        return NotSpecification(self)

    def __repr__(self) -> str:
        return f"<{self.description}>"


class AndSpecification[T](Specification[T]):
    """Satisfied when both ``left`` and ``right`` are (``left`` is evaluated first)."""

    __slots__ = ("left", "right")

    def __init__(self, left: Specification[T], right: Specification[T]) -> None:
        self.left = left
        self.right = right

    def is_satisfied_by(self, candidate: T) -> bool:
        """``left and right``."""
        return self.left.is_satisfied_by(candidate) and self.right.is_satisfied_by(candidate)

    @property
    def description(self) -> str:
        """``(left and right)``."""
        return f"({self.left.description} and {self.right.description})"


class OrSpecification[T](Specification[T]):
    """Satisfied when ``left`` or ``right`` is (``left`` is evaluated first)."""

    __slots__ = ("left", "right")

    def __init__(self, left: Specification[T], right: Specification[T]) -> None:
        self.left = left
        self.right = right

    def is_satisfied_by(self, candidate: T) -> bool:
        """``left or right``."""
        return self.left.is_satisfied_by(candidate) or self.right.is_satisfied_by(candidate)

    @property
    def description(self) -> str:
        """``(left or right)``."""
        return f"({self.left.description} or {self.right.description})"


class NotSpecification[T](Specification[T]):
    """Satisfied when ``inner`` is not."""

    __slots__ = ("inner",)

    def __init__(self, inner: Specification[T]) -> None:
        self.inner = inner

    def is_satisfied_by(self, candidate: T) -> bool:
        """``not inner``."""
        return not self.inner.is_satisfied_by(candidate)

    @property
    def description(self) -> str:
        """``not inner``."""
        return f"not {self.inner.description}"


class Predicate[T](Specification[T]):
    """A specification from a plain function and a description of what it checks."""

    __slots__ = ("_description", "_test")

    def __init__(self, test: Callable[[T], bool], description: str) -> None:
        self._test = test
        self._description = description

    def is_satisfied_by(self, candidate: T) -> bool:
        """``test(candidate)``."""
        return self._test(candidate)

    @property
    def description(self) -> str:
        """The description given at construction."""
        return self._description


class Always[T](Specification[T]):
    """Satisfied by every candidate: the identity of ``&``."""

    __slots__ = ()

    def is_satisfied_by(self, candidate: T) -> bool:
        """``True``."""
        return True

    @property
    def description(self) -> str:
        """``always``."""
        return "always"


class Never[T](Specification[T]):
    """Satisfied by no candidate: the identity of ``|``."""

    __slots__ = ()

    def is_satisfied_by(self, candidate: T) -> bool:
        """``False``."""
        return False

    @property
    def description(self) -> str:
        """``never``."""
        return "never"
