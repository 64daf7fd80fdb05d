"""Properties of specification composition: it obeys Boolean algebra."""

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.kit.specification import Always, Never, Predicate, Specification

pytestmark = pytest.mark.property

UNIVERSE = range(16)


def _spec(members: frozenset[int]) -> Specification[int]:
    return Predicate(lambda n: n in members, f"in {sorted(members)}")


SPECS = st.frozensets(st.sampled_from(UNIVERSE)).map(_spec)


def _same(left: Specification[int], right: Specification[int]) -> bool:
    return all(left.is_satisfied_by(n) == right.is_satisfied_by(n) for n in UNIVERSE)


@given(SPECS, SPECS)
def test_de_morgan(a: Specification[int], b: Specification[int]) -> None:
    """Property (De Morgan): ~(a & b) == ~a | ~b and ~(a | b) == ~a & ~b."""
    assert _same(~(a & b), ~a | ~b)
    assert _same(~(a | b), ~a & ~b)


@given(SPECS)
def test_double_negation(a: Specification[int]) -> None:
    """Property (double negation): ~~a == a."""
    assert _same(~~a, a)


@given(SPECS)
def test_identities_and_annihilators(a: Specification[int]) -> None:
    """Property (and/or identities): a & Always == a, a | Never == a, a & Never == Never,
    a | Always == Always, a & ~a == Never, a | ~a == Always."""
    always, never = Always[int](), Never[int]()
    assert _same(a & always, a)
    assert _same(a | never, a)
    assert _same(a & never, never)
    assert _same(a | always, always)
    assert _same(a & ~a, never)
    assert _same(a | ~a, always)


@given(SPECS, SPECS, SPECS)
def test_commutative_associative_distributive(
    a: Specification[int], b: Specification[int], c: Specification[int]
) -> None:
    """Property: & and | are commutative, associative and distribute over each other."""
    assert _same(a & b, b & a)
    assert _same(a | b, b | a)
    assert _same((a & b) & c, a & (b & c))
    assert _same((a | b) | c, a | (b | c))
    assert _same(a & (b | c), (a & b) | (a & c))
    assert _same(a | (b & c), (a | b) & (a | c))


type Model = Callable[[int], bool]


def _expressions() -> st.SearchStrategy[tuple[Specification[int], Model]]:
    leaves = st.frozensets(st.sampled_from(UNIVERSE)).map(
        lambda members: (_spec(members), lambda n, m=members: n in m)
    )

    def extend(
        children: st.SearchStrategy[tuple[Specification[int], Model]],
    ) -> st.SearchStrategy[tuple[Specification[int], Model]]:
        def both(
            op: str, left: tuple[Specification[int], Model], right: tuple[Specification[int], Model]
        ) -> tuple[Specification[int], Model]:
            (ls, lm), (rs, rm) = left, right
            if op == "&":
                return ls & rs, lambda n: lm(n) and rm(n)
            return ls | rs, lambda n: lm(n) or rm(n)

        def negate(child: tuple[Specification[int], Model]) -> tuple[Specification[int], Model]:
            spec, model = child
            return ~spec, lambda n: not model(n)

        return st.builds(both, st.sampled_from("&|"), children, children) | children.map(negate)

    return st.recursive(leaves, extend, max_leaves=12)


@given(_expressions())
def test_any_composition_evaluates_like_its_boolean_formula(
    expression: tuple[Specification[int], Model],
) -> None:
    """Property: a composed specification agrees with the Boolean formula it spells."""
    spec, model = expression
    assert all(spec.is_satisfied_by(n) == model(n) for n in UNIVERSE)
