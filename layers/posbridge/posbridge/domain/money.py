"""Money is Decimal, never float: Wix speaks decimal strings ("12.50"), Square integer minor units (1250)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, ConfigDict, field_validator

# ISO 4217 currencies whose minor unit is not 2 digits (the ones a restaurant site may plausibly use).
_MINOR_DIGITS = {
    "JPY": 0,
    "KRW": 0,
    "VND": 0,
    "CLP": 0,
    "ISK": 0,
    "HUF": 2,
    "BHD": 3,
    "KWD": 3,
    "OMR": 3,
    "JOD": 3,
    "TND": 3,
}


def minor_digits(currency: str) -> int:
    return _MINOR_DIGITS.get(currency.upper(), 2)


class Money(BaseModel):
    model_config = ConfigDict(frozen=True)

    amount: Decimal
    currency: str

    @field_validator("currency")
    @classmethod
    def _iso_4217(cls, value: str) -> str:
        if len(value) != 3 or not value.isalpha():
            raise ValueError("currency must be an ISO 4217 code")
        return value.upper()

    def minor_units(self) -> int:
        """Exact integer minor units; refuses amounts finer than the currency allows rather than rounding."""
        scaled = self.amount.scaleb(minor_digits(self.currency))
        if scaled != scaled.to_integral_value():
            raise ValueError(f"{self.amount} {self.currency} has more decimals than the currency allows")
        return int(scaled)

    @classmethod
    def from_minor_units(cls, amount: int, currency: str) -> Money:
        return cls(amount=Decimal(amount).scaleb(-minor_digits(currency)), currency=currency)

    def decimal_string(self) -> str:
        """Wix's format: a plain decimal string with the currency's digits, e.g. "12.50"."""
        digits = minor_digits(self.currency)
        return f"{self.amount:.{digits}f}"

    def times(self, quantity: int) -> Money:
        return Money(amount=self.amount * quantity, currency=self.currency)
