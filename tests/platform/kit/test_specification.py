"""The Specification pattern: composition and descriptions."""

import pytest

from commerce.platform.kit.specification import Always, Never, Predicate, Specification

pytestmark = pytest.mark.unit

EVEN: Specification[int] = Predicate(lambda n: n % 2 == 0, "even")
POSITIVE: Specification[int] = Predicate(lambda n: n > 0, "positive")


@pytest.mark.parametrize(
    ("spec", "satisfied", "unsatisfied"),
    [
        (EVEN & POSITIVE, [2, 4], [-2, 3, 0]),
        (EVEN | POSITIVE, [-2, 0, 3], [-3]),
        (~EVEN, [1, -3], [0, 2]),
        (Always[int](), [0, 1], []),
        (Never[int](), [], [0, 1]),
    ],
)
def test_composed_specifications(
    spec: Specification[int], satisfied: list[int], unsatisfied: list[int]
) -> None:
    assert all(spec.is_satisfied_by(n) for n in satisfied)
    assert not any(spec.is_satisfied_by(n) for n in unsatisfied)


def test_descriptions_read_as_the_rule() -> None:
    assert (~(EVEN & POSITIVE) | Never[int]()).description == ("(not (even and positive) or never)")
    assert repr(EVEN) == "<even>"


def test_and_short_circuits() -> None:
    calls: list[int] = []

    def record(n: int) -> bool:
        calls.append(n)
        return True

    (Never[int]() & Predicate(record, "recorded")).is_satisfied_by(1)
    assert calls == []
