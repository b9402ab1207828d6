from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.kit.errors import ValidationFailed
from mercato.kit.money import format_fen, parse_yuan


@given(st.integers(min_value=0, max_value=10**12))
def test_format_then_parse_round_trips(fen: int) -> None:
    assert parse_yuan(format_fen(fen)) == fen


@pytest.mark.parametrize(
    ("text", "fen"), [("0", 0), ("12.3", 1230), ("12.30", 1230), (" 200.07 ", 20007)]
)
def test_parses_yuan(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("-1", "non_negative"),
        ("1.234", "money_precision"),
        ("abc", "money"),
        ("NaN", "money"),
        ("Infinity", "money"),
        ("1e20", "max"),
    ],
)
def test_rejects_bad_amounts_naming_the_rule(text: str, rule: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_yuan(text, field="skus[0].price")
    assert err.value.problems[0].field == "skus[0].price"
    assert err.value.problems[0].rule == rule


def test_formats_negative_and_small() -> None:
    assert format_fen(5) == "0.05"
    assert format_fen(-150) == "-1.50"
    assert Decimal(format_fen(123456)) == Decimal("1234.56")
