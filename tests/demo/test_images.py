from __future__ import annotations

import io

import pytest
from PIL import Image

from mercato.demo.data import LEAVES
from mercato.demo.images import SHAPES, initials, product_image, shop_logo


class TestProductImage:
    @pytest.mark.parametrize("shape", sorted(SHAPES))
    def test_every_shape_draws_a_small_jpeg(self, shape: str) -> None:
        blob = product_image(family="home", shape=shape, caption="Clear lidded box", seed=1)

        picture = Image.open(io.BytesIO(blob))
        assert picture.format == "JPEG" and picture.size == (600, 600)
        assert len(blob) < 80_000

    def test_is_deterministic_and_varies_by_seed(self) -> None:
        def draw(seed: int) -> bytes:
            return product_image(family="clothing", shape="dress", caption="Dress", seed=seed)

        assert draw(7) == draw(7)
        assert draw(7) != draw(8)

    def test_every_leaf_has_a_shape_and_a_family(self) -> None:
        for leaf in LEAVES.values():
            product_image(family=leaf.family, shape=leaf.shape, caption=leaf.name_en, seed=0)


class TestShopLogo:
    def test_is_a_png_with_initials(self) -> None:
        blob = shop_logo(name="Jiangnan Weaving", seed=1)

        picture = Image.open(io.BytesIO(blob))
        assert picture.format == "PNG" and picture.size == (200, 200)
        assert shop_logo(name="Jiangnan Weaving", seed=1) == blob

    @pytest.mark.parametrize(
        ("name", "expected"),
        [("Jiangnan Weaving", "JW"), ("Anju Home Goods", "AH"), ("x", "X"), ("", "M")],
    )
    def test_initials(self, name: str, expected: str) -> None:
        assert initials(name) == expected
