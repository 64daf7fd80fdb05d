"""Specifications as SQL: the ``WHERE`` clause of a composed
:class:`~commerce.platform.kit.specification.Specification`.

``&``, ``|``, ``~``, ``Always`` and ``Never`` translate the same for every candidate type;
each leaf type needs its own translation (``leaves``), written against the table whose
rows stand for the candidates. A leaf without one raises :class:`TypeError`: a filter is
never silently dropped. The columns a translation reads must be ``NOT NULL``, so SQL's
three-valued logic agrees with the specification's two values under ``NOT``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, not_, or_, true

from commerce.platform.kit.specification import (
    Always,
    AndSpecification,
    Never,
    NotSpecification,
    OrSpecification,
    Specification,
)

__all__ = ["LeafTranslations", "where_clause"]

type LeafTranslations = Mapping[type[Specification[Any]], Callable[[Any], ColumnElement[bool]]]
"""The SQL condition of each leaf specification type, given the leaf."""


def where_clause(spec: Specification[Any], leaves: LeafTranslations) -> ColumnElement[bool]:
    """The condition rows must meet to stand for candidates satisfying ``spec``."""
    match spec:
        case AndSpecification():
            return and_(where_clause(spec.left, leaves), where_clause(spec.right, leaves))
        case OrSpecification():
            return or_(where_clause(spec.left, leaves), where_clause(spec.right, leaves))
        case NotSpecification():
            return not_(where_clause(spec.inner, leaves))
        case Always():
            return true()
        case Never():
            return false()
    translate = leaves.get(type(spec))
    if translate is None:
        raise TypeError(f"no SQL translation for {type(spec).__name__} ({spec.description})")
    return translate(spec)
