"""Properties of Money: exact integer arithmetic within one currency."""

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from commerce.platform.kit.errors import AmountOutOfRange, CurrencyMismatch
from commerce.platform.kit.money import MAX_MINOR_UNITS, MIN_MINOR_UNITS, Money

pytestmark = pytest.mark.property

CURRENCIES = st.sampled_from(["EUR", "USD", "JPY", "KWD", "CLF", "GBP"])
ANY_AMOUNT = st.integers(MIN_MINOR_UNITS, MAX_MINOR_UNITS)
SAFE_AMOUNT = st.integers(-(2**60), 2**60)  # three of them always add up within 64 bits


@st.composite
def same_currency(draw: st.DrawFn, count: int, amounts: st.SearchStrategy[int]) -> list[Money]:
    currency = draw(CURRENCIES)
    return [Money(draw(amounts), currency) for _ in range(count)]


@given(same_currency(2, ANY_AMOUNT))
def test_addition_is_commutative(pair: list[Money]) -> None:
    """Property: a + b == b + a (or both overflow)."""
    a, b = pair
    try:
        left = a + b
    except AmountOutOfRange:
        with pytest.raises(AmountOutOfRange):
            _ = b + a
    else:
        assert left == b + a


@given(same_currency(3, SAFE_AMOUNT))
def test_addition_is_associative(triple: list[Money]) -> None:
    """Property: (a + b) + c == a + (b + c)."""
    a, b, c = triple
    assert (a + b) + c == a + (b + c)


@given(same_currency(2, SAFE_AMOUNT.map(lambda v: v // 2)), st.integers(-4, 4))  # 4·(a + b) fits
def test_multiplication_distributes_and_zero_is_neutral(pair: list[Money], n: int) -> None:
    """Property: (a + b) * n == a * n + b * n; a + 0 == a; a - a == 0."""
    a, b = pair
    zero = Money.zero(a.currency)
    assert (a + b) * n == a * n + b * n
    assert a + zero == a == zero + a
    assert a - a == zero == a + (-a)


@given(ANY_AMOUNT, ANY_AMOUNT, st.integers(-(2**70), 2**70), CURRENCIES)
def test_results_are_exact_ints_or_refused_never_floats(
    x: int, y: int, n: int, currency: str
) -> None:
    """Property: no overflow to float: every result is the exact int, or AmountOutOfRange."""
    a, b = Money(x, currency), Money(y, currency)
    operations: list[tuple[int, Callable[[], Money]]] = [
        (x + y, lambda: a + b),
        (x - y, lambda: a - b),
        (x * n, lambda: a * n),
    ]
    for exact, compute in operations:
        if MIN_MINOR_UNITS <= exact <= MAX_MINOR_UNITS:
            result = compute()
            assert type(result.amount) is int
            assert result == Money(exact, currency)
        else:
            with pytest.raises(AmountOutOfRange):
                compute()


@given(ANY_AMOUNT, ANY_AMOUNT, CURRENCIES, CURRENCIES)
def test_currency_mismatch_is_rejected(x: int, y: int, first: str, second: str) -> None:
    """Property: combining or ordering two different currencies raises CurrencyMismatch."""
    a, b = Money(x, first), Money(y, second)
    if first == second:
        return
    for combine in (lambda: a + b, lambda: a - b, lambda: a < b, lambda: a >= b):
        with pytest.raises(CurrencyMismatch):
            combine()
    with pytest.raises(CurrencyMismatch):
        Money.sum([a, b], currency=first)
    assert a != b


@given(same_currency(5, SAFE_AMOUNT.map(lambda v: v // 8)))
def test_sum_helper_adds_every_amount(amounts: list[Money]) -> None:
    """Property: Money.sum(xs) == Money(sum of their amounts), in any order."""
    currency = amounts[0].currency
    expected = Money(sum(m.amount for m in amounts), currency)
    assert Money.sum(amounts, currency=currency) == expected
    assert Money.sum(reversed(amounts), currency=currency) == expected
