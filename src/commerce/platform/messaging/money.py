"""Money on the wire: ``{"amount": <minor units>, "currency": "<ISO 4217>"}``."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from commerce.platform.kit.money import MAX_MINOR_UNITS, MIN_MINOR_UNITS, Money

__all__ = ["MoneyPayload"]


class MoneyPayload(BaseModel):
    """An exact amount: whole minor units (cents for EUR, yen for JPY) and a currency code.

    The schema checks the shape only; rules such as "a price is positive" are the domain's
    and are answered with a rejection, not a dead letter.
    """

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        json_schema_extra={"examples": [{"amount": 1999, "currency": "EUR"}]},
    )

    amount: Annotated[int, Field(ge=MIN_MINOR_UNITS, le=MAX_MINOR_UNITS, strict=True)] = Field(
        description="Whole minor units of the currency (1999 EUR cents = 19.99 EUR)."
    )
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = Field(
        description="ISO 4217 currency code, upper case."
    )

    @classmethod
    def of(cls, money: Money) -> MoneyPayload:
        """The wire form of ``money``."""
        return cls(amount=money.amount, currency=money.currency)

    def to_money(self) -> Money:
        """The domain value (raises ``InvalidValue`` for a currency the domain refuses)."""
        return Money(self.amount, self.currency)
