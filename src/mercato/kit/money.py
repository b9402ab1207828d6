"""Money is integer minor units (fen). Parsing and formatting live here and nowhere else."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from mercato.kit.errors import ValidationFailed

MAX_FEN = 10**13  # one hundred billion yuan: far beyond any price, far inside 64 bits


def parse_yuan(value: str | int | float | Decimal, field: str = "price") -> int:
    """Parse a yuan amount such as ``"12.30"`` into fen, rejecting more than 2 decimals."""
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ValidationFailed.one(field, "money", f"'{value}' is not an amount") from None
    if not amount.is_finite():
        raise ValidationFailed.one(field, "money", f"'{value}' is not an amount")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValidationFailed.one(field, "money_precision", "at most 2 decimal places")
    fen = int((amount * 100).to_integral_value(ROUND_HALF_UP))
    if fen < 0:
        raise ValidationFailed.one(field, "non_negative", "must not be negative")
    if fen >= MAX_FEN:
        raise ValidationFailed.one(field, "max", "is too large")
    return fen


def format_fen(fen: int) -> str:
    """Render fen as a 2-decimal yuan string, the way TOP sends money (``"200.07"``)."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}{whole}.{cents:02d}"
