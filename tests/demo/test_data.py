from __future__ import annotations

import random

from mercato.demo.data import (
    FAMILIES,
    LEAVES,
    SHOPS,
    TITLE_MAX,
    count_categories,
    make_title,
    price_fen,
)


def test_tree_is_big_enough_and_bilingual() -> None:
    assert len(FAMILIES) >= 6
    assert len(LEAVES) >= 18
    assert count_categories() > len(LEAVES) + len(FAMILIES) - 1
    for leaf in LEAVES.values():
        assert leaf.name and leaf.name_en and leaf.brands
        for prop in leaf.sale_props:
            assert len({v.zh for v in prop.values}) == len(prop.values)


def test_every_shop_sells_known_leaves() -> None:
    assert len(SHOPS) >= 8
    assert SHOPS[0].nick == "demo_seller"
    for shop in SHOPS:
        assert set(shop.leaves) <= set(LEAVES)
        assert len(shop.title) <= 60


def test_titles_are_short_and_bilingual() -> None:
    rng = random.Random(3)
    for leaf in LEAVES.values():
        for _ in range(200):
            title = make_title(rng, leaf, rng.choice(leaf.brands))
            assert len(title.text) <= TITLE_MAX
            assert leaf.noun.zh in title.text
            assert title.en and title.text.endswith(title.en)


def test_the_featured_dress_is_a_demo_title() -> None:
    featured = [f"{w.zh} {w.en}" for w in LEAVES["dress"].featured]
    assert "夏季新款碎花连衣裙 Summer floral dress" in featured


def test_prices_stay_in_range() -> None:
    rng = random.Random(5)
    for leaf in LEAVES.values():
        low, high = leaf.price
        for _ in range(100):
            assert (low - 1) * 100 <= price_fen(rng, low, high) <= (high + 9) * 100
