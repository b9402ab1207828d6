"""The SKU properties parser and the price/quantity derivation, without a database."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.catalog.service import derive_price_quantity, parse_properties

ids = st.integers(min_value=0, max_value=10**12)


@given(st.dictionaries(ids, ids, min_size=1, max_size=6), st.randoms())
def test_any_order_and_spacing_parse_to_the_same_pairs(pairs: dict[int, int], rnd: object) -> None:
    items = list(pairs.items())
    rnd.shuffle(items)  # type: ignore[attr-defined]
    text = ";".join(f" {pid}:{vid} " for pid, vid in items)
    assert parse_properties(text) == pairs


@pytest.mark.parametrize("text", ["", "1", "1:", ":2", "1:2;", "1:2;1:3", "a:b", "1:2:3", "１:2"])
def test_malformed_properties(text: str) -> None:
    assert parse_properties(text) is None


@dataclass
class Row:
    price: int
    quantity: int


def test_derivation_takes_the_lowest_price_and_the_total_stock() -> None:
    assert derive_price_quantity([Row(300, 1), Row(250, 0), Row(999, 4)]) == (250, 5)
    with pytest.raises(ValueError):
        derive_price_quantity([])
