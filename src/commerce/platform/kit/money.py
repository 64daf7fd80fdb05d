"""``Money``: an exact amount in one currency.

Amounts are whole numbers of the currency's minor unit (cents for EUR, yen for JPY, fils
for KWD), never floats. Arithmetic is defined only between amounts of the same currency
and raises :class:`~commerce.platform.kit.errors.CurrencyMismatch` otherwise. Every amount fits
a signed 64-bit integer (a Postgres ``bigint``): a result outside that range raises
:class:`~commerce.platform.kit.errors.AmountOutOfRange` instead of wrapping or losing precision.

The currency code is checked for shape (three upper-case letters, ISO 4217 style);
which currencies a tenant accepts is configuration, not a domain rule. Minor-unit
exponents follow ISO 4217: 2 unless listed in ``_EXPONENTS``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from commerce.platform.kit.errors import AmountOutOfRange, CurrencyMismatch, InvalidValue

__all__ = ["MAX_MINOR_UNITS", "MIN_MINOR_UNITS", "Money", "minor_unit_exponent"]

MAX_MINOR_UNITS = 2**63 - 1
"""The largest amount, in minor units (signed 64-bit)."""
MIN_MINOR_UNITS = -(2**63)
"""The smallest amount, in minor units (signed 64-bit)."""

_CODE = re.compile(r"^[A-Z]{3}$")
_EXPONENTS: dict[str, int] = {
    code: exponent
    for exponent, codes in (
        (0, "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"),
        (3, "BHD IQD JOD KWD LYD OMR TND"),
        (4, "CLF UYW"),
    )
    for code in codes.split()
}


def minor_unit_exponent(currency: str) -> int:
    """Decimal places of ``currency``'s minor unit (ISO 4217): 2, 0, 3 or 4."""
    return _EXPONENTS.get(currency, 2)


def _check_range(amount: int) -> int:
    if not MIN_MINOR_UNITS <= amount <= MAX_MINOR_UNITS:
        raise AmountOutOfRange(f"{amount} minor units do not fit in 64 bits")
    return amount


@dataclass(frozen=True, slots=True)
class Money:
    """``amount`` minor units of ``currency`` (e.g. ``Money(1999, "EUR")`` is 19.99 EUR).

    Equality is exact and never raises (amounts in different currencies are simply not
    equal); ordering and arithmetic require the same currency.
    """

    amount: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.amount, bool) or not isinstance(self.amount, int):
            raise InvalidValue(f"amounts are integer minor units, not {self.amount!r}")
        if not isinstance(self.currency, str) or _CODE.match(self.currency) is None:
            raise InvalidValue(f"not an ISO 4217 currency code: {self.currency!r}")
        _check_range(self.amount)

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money, in ``currency``."""
        return cls(0, currency)

    @classmethod
    def sum(cls, amounts: Iterable[Money], *, currency: str) -> Money:
        """The total of ``amounts``, all in ``currency`` (zero when there are none)."""
        total = cls.zero(currency)
        for amount in amounts:
            total += amount
        return total

    @property
    def is_zero(self) -> bool:
        """Whether the amount is zero."""
        return self.amount == 0

    @property
    def is_positive(self) -> bool:
        """Whether the amount is greater than zero."""
        return self.amount > 0

    def _same_currency(self, other: object) -> Money:
        if not isinstance(other, Money):
            raise TypeError(f"Money combines only with Money, not {type(other).__name__}")
        if other.currency != self.currency:
            raise CurrencyMismatch(f"cannot combine {self.currency} with {other.currency}")
        return other

    def __add__(self, other: Money) -> Money:
        return Money(self.amount + self._same_currency(other).amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        return Money(self.amount - self._same_currency(other).amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, quantity: int) -> Money:
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise TypeError(f"Money multiplies only by an int quantity, not {quantity!r}")
        return Money(self.amount * quantity, self.currency)

    def __rmul__(self, quantity: int) -> Money:
        return self * quantity

    def __lt__(self, other: Money) -> bool:
        return self.amount < self._same_currency(other).amount

    def __le__(self, other: Money) -> bool:
        return self.amount <= self._same_currency(other).amount

    def __gt__(self, other: Money) -> bool:
        return self.amount > self._same_currency(other).amount

    def __ge__(self, other: Money) -> bool:
        return self.amount >= self._same_currency(other).amount

    def __str__(self) -> str:
        exponent = minor_unit_exponent(self.currency)
        sign = "-" if self.amount < 0 else ""
        units, fraction = divmod(abs(self.amount), 10**exponent)
        decimals = f".{fraction:0{exponent}d}" if exponent else ""
        return f"{sign}{units}{decimals} {self.currency}"
