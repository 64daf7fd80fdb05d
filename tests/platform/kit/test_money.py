"""Money: integer minor units in one currency, printed with the currency's decimals."""

import pytest

from commerce.platform.kit.errors import AmountOutOfRange, CurrencyMismatch, InvalidValue
from commerce.platform.kit.money import MAX_MINOR_UNITS, Money, minor_unit_exponent

pytestmark = pytest.mark.unit

EUR = "EUR"


def test_arithmetic_within_one_currency_is_exact() -> None:
    assert Money(1999, EUR) + Money(1, EUR) == Money(2000, EUR)
    assert Money(1999, EUR) - Money(2000, EUR) == Money(-1, EUR)
    assert -Money(5, EUR) == Money(-5, EUR)
    assert Money(250, EUR) * 4 == 4 * Money(250, EUR) == Money(1000, EUR)


@pytest.mark.parametrize(
    "combine",
    [
        lambda a, b: a + b,
        lambda a, b: a - b,
        lambda a, b: a < b,
        lambda a, b: a >= b,
    ],
)
def test_combining_currencies_is_refused(combine: object) -> None:
    assert callable(combine)
    with pytest.raises(CurrencyMismatch):
        combine(Money(1, EUR), Money(1, "USD"))


def test_amounts_of_different_currencies_are_unequal_without_raising() -> None:
    assert Money(1, EUR) != Money(1, "USD")


@pytest.mark.parametrize("amount", [1.5, 1.0, True, "12", None])
def test_amounts_must_be_integers(amount: object) -> None:
    with pytest.raises(InvalidValue, match="integer minor units"):
        Money(amount, EUR)  # type: ignore[arg-type]


@pytest.mark.parametrize("factor", [1.5, 2.0, True])
def test_money_multiplies_only_by_int(factor: object) -> None:
    with pytest.raises(TypeError):
        _ = Money(100, EUR) * factor  # type: ignore[operator]


def test_money_combines_only_with_money() -> None:
    with pytest.raises(TypeError):
        _ = Money(100, EUR) + 1  # type: ignore[operator]


@pytest.mark.parametrize("code", ["eur", "EURO", "E1R", "", "€"])
def test_currency_codes_are_three_upper_case_letters(code: str) -> None:
    with pytest.raises(InvalidValue, match="ISO 4217"):
        Money(1, code)


def test_amounts_beyond_64_bits_are_refused_not_wrapped() -> None:
    biggest = Money(MAX_MINOR_UNITS, EUR)
    with pytest.raises(AmountOutOfRange):
        _ = biggest + Money(1, EUR)
    with pytest.raises(AmountOutOfRange):
        _ = biggest * 2
    with pytest.raises(AmountOutOfRange):
        Money(MAX_MINOR_UNITS + 1, EUR)


def test_sum_of_nothing_is_zero_in_the_given_currency() -> None:
    assert Money.sum([], currency="JPY") == Money.zero("JPY")
    assert Money.sum([Money(1, EUR), Money(2, EUR)], currency=EUR) == Money(3, EUR)
    with pytest.raises(CurrencyMismatch):
        Money.sum([Money(1, "USD")], currency=EUR)


def test_ordering_and_predicates() -> None:
    assert Money(1, EUR) < Money(2, EUR) <= Money(2, EUR)
    assert Money(3, EUR) > Money(2, EUR)
    assert Money(1, EUR).is_positive
    assert not Money(0, EUR).is_positive
    assert Money(0, EUR).is_zero


@pytest.mark.parametrize(
    ("money", "text"),
    [
        (Money(1999, EUR), "19.99 EUR"),
        (Money(-5, EUR), "-0.05 EUR"),
        (Money(500, "JPY"), "500 JPY"),
        (Money(12345, "KWD"), "12.345 KWD"),
        (Money(0, EUR), "0.00 EUR"),
    ],
)
def test_money_prints_with_the_currency_decimals(money: Money, text: str) -> None:
    assert str(money) == text


def test_minor_unit_exponents_follow_iso_4217() -> None:
    assert [minor_unit_exponent(c) for c in ("EUR", "JPY", "KWD", "CLF")] == [2, 0, 3, 4]
