"""Buyers' search, on each database's own text index."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest

from mercato.catalog import service
from mercato.catalog.search import SearchQuery, fts_expression, search_items
from mercato.kit.clock import clock
from mercato.kit.pagination import Page
from mercato.models import Item, User
from tests.catalog.conftest import World

# name: (title, seller, category attribute, price, sold, on sale)
SHELF = {
    "floral_cn": ("夏季新款碎花连衣裙", "alice", "dresses", "199.00", 50, True),
    "floral_en": ("Summer floral dress", "alice", "dresses", "89.00", 10, True),
    "skirt": ("红色裙子 修身", "alice", "tops", "59.00", 5, True),
    "evening": ("Evening DRESS black", "bob", "dresses", "299.00", 100, True),
    "hidden": ("连衣裙 仓库款 dress", "alice", "dresses", "9.00", 0, False),
    "phone": ("智能手机 Phone dress", "bob", "phones", "1999.00", 0, True),
    "shirt": ("碎花 衬衫", "bob", "tops", "49.00", 20, True),
}


@dataclass
class Shelf:
    world: World
    ids: dict[str, int]

    def names(self, page: Page[Item]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[item.id] for item in page.items]

    async def search(self, **kwargs: object) -> Page[Item]:
        async with self.world.db.read() as session:
            return await search_items(session, SearchQuery(**kwargs))  # type: ignore[arg-type]

    async def found(self, **kwargs: object) -> set[str]:
        page = await self.search(**kwargs)
        assert page.total == len(page.items)
        return set(self.names(page))


async def add_item(
    world: World, seller: User, title: str, category_id: int, price: str, sold: int, onsale: bool
) -> int:
    props = {world.tree.brand.id: [world.tree.vid(world.tree.brand, "Acme")]}
    data = world.tree.item(
        title=title,
        category_id=category_id,
        price=price,
        props=props if category_id == world.tree.dresses.id else {},
        approve_status="onsale" if onsale else "instock",
    )
    async with world.db.write() as session:
        item = await service.create_item(session, seller, data)
        item.sold_quantity = sold
    return item.id


@pytest.fixture
async def shelf(world: World) -> Shelf:
    """Items listed one minute apart, in SHELF order (so the last is the newest)."""
    ids = {}
    try:
        for name, (title, seller, category, price, sold, onsale) in SHELF.items():
            category_id = getattr(world.tree, category).id
            who = world.alice if seller == "alice" else world.bob
            ids[name] = await add_item(world, who, title, category_id, price, sold, onsale)
            clock.advance(timedelta(minutes=1))
    finally:
        clock.reset()
    return Shelf(world, ids)


class TestMatching:
    async def test_chinese_words_inside_a_title(self, shelf: Shelf) -> None:
        assert await shelf.found(q="连衣裙") == {"floral_cn"}
        assert await shelf.found(q="碎花连衣裙") == {"floral_cn"}

    async def test_every_term_must_match(self, shelf: Shelf) -> None:
        assert await shelf.found(q="碎花 连衣裙") == {"floral_cn"}
        assert await shelf.found(q="floral dress") == {"floral_en"}
        assert await shelf.found(q="dress 手机") == {"phone"}

    async def test_two_character_terms(self, shelf: Shelf) -> None:
        assert await shelf.found(q="裙子") == {"skirt"}
        assert await shelf.found(q="碎花") == {"floral_cn", "shirt"}
        assert await shelf.found(q="碎花 衬衫") == {"shirt"}

    async def test_one_character_terms_and_pieces_of_words(self, shelf: Shelf) -> None:
        assert await shelf.found(q="裙") == {"floral_cn", "skirt"}
        assert await shelf.found(q="衫") == {"shirt"}
        assert await shelf.found(q="PH") == {"phone"}  # inside "Phone", any case
        assert await shelf.found(q="ss") == {"floral_en", "evening", "phone"}

    async def test_english_ignores_case(self, shelf: Shelf) -> None:
        expected = {"floral_en", "evening", "phone"}
        assert await shelf.found(q="dress") == expected
        assert await shelf.found(q="DRESS") == expected
        assert await shelf.found(q="  Dress  ") == expected

    async def test_items_in_stock_are_never_found(self, shelf: Shelf) -> None:
        assert "hidden" not in await shelf.found(q="仓库款")
        assert "hidden" not in await shelf.found()

    async def test_user_input_is_text_not_syntax(self, shelf: Shelf) -> None:
        for q in ('"', 'dre"ss', "%", "_", "100%", "dress OR phone", "dress*", "NEAR(a b)"):
            assert await shelf.found(q=q) == set(), q
        assert await shelf.found(q='"dress"') == set()  # quotes are part of the text
        assert fts_expression(['a"b', "cd e"]) == '"a""b" AND "cd e"'


class TestFilters:
    async def test_category_covers_its_subtree(self, shelf: Shelf) -> None:
        t = shelf.world.tree
        assert await shelf.found(category_id=t.clothing.id) == {
            "floral_cn",
            "floral_en",
            "skirt",
            "evening",
            "shirt",
        }
        assert await shelf.found(q="dress", category_id=t.clothing.id) == {"floral_en", "evening"}
        assert await shelf.found(q="dress", category_id=t.digital.id) == {"phone"}
        assert await shelf.found(category_id=t.tops.id) == {"skirt", "shirt"}
        assert await shelf.found(category_id=999_999) == set()

    async def test_price_range_in_fen(self, shelf: Shelf) -> None:
        found = await shelf.found(price_min=5_900, price_max=19_900)
        assert found == {"floral_cn", "floral_en", "skirt"}
        assert await shelf.found(price_min=100_000) == {"phone"}
        assert await shelf.found(q="dress", price_max=10_000) == {"floral_en"}

    async def test_shop(self, shelf: Shelf) -> None:
        shop = shelf.world.bob_shop.id
        assert await shelf.found(shop_id=shop) == {"evening", "phone", "shirt"}
        assert await shelf.found(q="dress", shop_id=shop) == {"evening", "phone"}


class TestOrder:
    async def names(self, shelf: Shelf, **kwargs: object) -> list[str]:
        return shelf.names(await shelf.search(**kwargs))

    async def test_sort_orders(self, shelf: Shelf) -> None:
        by_price = ["shirt", "skirt", "floral_en", "floral_cn", "evening", "phone"]
        assert await self.names(shelf, sort="price_asc") == by_price
        assert await self.names(shelf, sort="price_desc") == by_price[::-1]
        by_sales = ["evening", "floral_cn", "shirt", "floral_en", "skirt", "phone"]
        assert await self.names(shelf, sort="sales") == by_sales
        by_time = ["shirt", "phone", "evening", "skirt", "floral_en", "floral_cn"]
        assert await self.names(shelf, sort="newest") == by_time
        assert await self.names(shelf, q="dress", sort="price_asc") == [
            "floral_en",
            "evening",
            "phone",
        ]

    async def test_browsing_by_relevance_is_by_sales_then_newest(self, shelf: Shelf) -> None:
        # phone (sold 0) is the only one without sales
        assert await self.names(shelf) == await self.names(shelf, sort="sales")

    async def test_relevance_prefers_the_closer_title(self, world: World) -> None:
        t = world.tree
        # the long title sells more, so only the text score can put the short one first
        long_id = await add_item(
            world, world.bob, "Evening gown with a matching dress belt", t.tops.id, "9", 99, True
        )
        short_id = await add_item(world, world.bob, "Dress", t.tops.id, "9", 0, True)
        async with world.db.read() as session:
            page = await search_items(session, SearchQuery(q="dress"))
        assert [i.id for i in page.items] == [short_id, long_id]

    async def test_short_terms_alone(self, shelf: Shelf) -> None:
        # Short terms are indexed too, so the text score ranks them on both engines: the
        # shorter title is the closer one, though the longer one sells more.
        assert await self.names(shelf, q="碎花") == ["shirt", "floral_cn"]


class TestPaging:
    async def test_pages_are_stable_and_complete(self, world: World) -> None:
        # equal prices and sales: only the id tie-break orders them
        for i in range(7):
            await add_item(world, world.alice, f"同款连衣裙 {i}", world.tree.tops.id, "10", 0, True)
        seen: list[int] = []
        async with world.db.read() as session:
            for number in (1, 2, 3):
                page = await search_items(
                    session, SearchQuery(q="连衣裙", sort="price_asc", page=number, size=3)
                )
                assert page.total == 7 and page.pages == 3
                seen += [item.id for item in page.items]
        assert len(seen) == len(set(seen)) == 7
        assert seen == sorted(seen, reverse=True)

    @pytest.mark.parametrize("q", ["dress", ""])
    async def test_a_page_past_the_end_is_empty_but_counts(self, shelf: Shelf, q: str) -> None:
        first = await shelf.search(q=q)
        beyond = await shelf.search(q=q, page=50)
        assert first.items and not beyond.items
        assert beyond.total == first.total > 0

    async def test_page_size_is_capped(self, shelf: Shelf) -> None:
        page = await shelf.search(size=1_000, page=0)
        assert (page.request.size, page.request.page) == (100, 1)
        assert page.total == 6
