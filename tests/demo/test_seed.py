from __future__ import annotations

import re
from collections import defaultdict
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, text

from mercato.demo import BULK_PASSWORD, seed_bulk, seed_demo
from mercato.demo import seed as seed_module
from mercato.demo.data import LEAVES, TITLE_MAX
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.kit.passwords import verify_password
from mercato.kit.storage import LocalStorage
from mercato.ledger.accounts import wallet
from mercato.ledger.service import balance, trial_balance, unbalanced_transactions
from mercato.models import Base, Item, User
from mercato.trade.service import list_addresses

T = Base.metadata.tables
PASSWORD = "demo-pass-123"
FEATURED = "夏季新款碎花连衣裙 Summer floral dress"


async def rows(db: Database, sql: Any) -> list[Any]:
    async with db.read() as session:
        return list((await session.execute(sql)).all())


async def count(db: Database, table: str) -> int:
    async with db.read() as session:
        return int((await session.execute(select(func.count()).select_from(T[table]))).scalar_one())


async def search(db: Database, word: str) -> set[str]:
    """Titles the database's own full-text index finds for a word."""
    if db.is_sqlite:
        sql = text(
            "SELECT items.title FROM item_search JOIN items ON items.id = item_search.rowid "
            "WHERE item_search MATCH :q"
        ).bindparams(q=f'"{word}"')
    else:
        sql = text("SELECT title FROM items WHERE lower(title) LIKE :q").bindparams(
            q=f"%{word.lower()}%"
        )
    return {r.title for r in await rows(db, sql)}


class TestSeedDemo:
    async def test_creates_the_documented_marketplace(
        self, db: Database, storage: LocalStorage
    ) -> None:
        # when
        summary = await seed_demo(db, storage, password=PASSWORD)

        # then
        assert summary.created
        assert summary.accounts == ["demo_seller", "demo_buyer", "demo_dev", "demo_operator"]
        assert summary.password == PASSWORD
        assert summary.users >= 4 + 7 + 10 and summary.shops >= 8 and summary.items >= 320
        for table, n in [
            ("users", summary.users),
            ("shops", summary.shops),
            ("items", summary.items),
            ("skus", summary.skus),
            ("categories", summary.categories),
        ]:
            assert await count(db, table) == n, table
        roles = defaultdict(set)
        sql = text("SELECT u.nick, r.role FROM users u JOIN user_roles r ON r.user_id = u.id")
        for r in await rows(db, sql):
            roles[r.nick].add(r.role)
        assert roles["demo_seller"] == {"seller", "buyer"}
        assert roles["demo_buyer"] == {"buyer"}
        assert roles["demo_dev"] == {"developer", "buyer"}
        assert roles["demo_operator"] == {"operator"}
        sellers = [nick for nick, r in roles.items() if "seller" in r]
        buyers_only = [nick for nick, r in roles.items() if r == {"buyer"}]
        assert len(sellers) >= 8 and len(buyers_only) >= 11
        sql = text("SELECT u.nick FROM shops s JOIN users u ON u.id = s.seller_id WHERE s.id = 1")
        shop_one = await rows(db, sql)
        assert shop_one[0].nick == "demo_seller"
        every_seller_has_a_shop = await rows(
            db, text("SELECT count(DISTINCT seller_id) AS n FROM shops")
        )
        assert every_seller_has_a_shop[0].n == len(sellers)
        assert await count(db, "shop_categories") >= summary.shops * 4

    async def test_is_idempotent(self, db: Database, storage: LocalStorage) -> None:
        # given
        first = await seed_demo(db, storage, password=PASSWORD)

        # when
        second = await seed_demo(db, storage, password="other-password")

        # then
        assert first.created and not second.created
        assert (second.users, second.shops, second.items, second.skus) == (
            first.users,
            first.shops,
            first.items,
            first.skus,
        )
        assert await count(db, "items") == first.items

    async def test_demo_buyers_have_money_and_demo_buyer_an_address(
        self, db: Database, storage: LocalStorage
    ) -> None:
        # when
        await seed_demo(db, storage, password=PASSWORD)
        again = await seed_demo(db, storage, password=PASSWORD)

        # then
        assert not again.created
        users = {r.nick: r.id for r in await rows(db, select(T["users"].c.nick, T["users"].c.id))}
        async with db.read() as session:
            balances = {nick: await balance(session, wallet(uid)) for nick, uid in users.items()}
            assert await trial_balance(session) == 0
            assert await unbalanced_transactions(session) == []
            demo_buyer = await session.get(User, users["demo_buyer"])
            assert demo_buyer is not None
            addresses = await list_addresses(session, demo_buyer)
        for nick in ("demo_buyer", "demo_seller", "demo_dev", "xiaoming88"):
            assert balances[nick] == seed_module.DEMO_WALLET_FEN == 2_000_000, nick
        assert balances["demo_operator"] == 0
        buyer_nicks = {nick for nick, amount in balances.items() if amount}
        sql = text(
            "SELECT u.nick FROM users u JOIN user_roles r ON r.user_id = u.id "
            "WHERE r.role = 'buyer'"
        )
        roles = await rows(db, sql)
        assert buyer_nicks == {r.nick for r in roles}
        assert len(addresses) == 1 and addresses[0].is_default
        assert addresses[0].city == "杭州市"

    async def test_every_account_signs_in_with_the_password(
        self, db: Database, storage: LocalStorage
    ) -> None:
        await seed_demo(db, storage, password=PASSWORD)

        hashes = {r.password_hash for r in await rows(db, select(T["users"].c.password_hash))}

        assert len(hashes) == 1  # hashed once, shared
        (stored,) = hashes
        assert verify_password(stored, PASSWORD)
        assert not verify_password(stored, PASSWORD + "x")

    async def test_items_are_consistent_with_their_skus_and_props(
        self, db: Database, storage: LocalStorage
    ) -> None:
        await seed_demo(db, storage, password=PASSWORD)
        await assert_catalog_consistent(db)

        items = await rows(db, select(T["items"]))
        statuses = [i.approve_status for i in items]
        assert statuses.count("onsale") > 0.85 * len(items)
        assert statuses.count("instock") > 0
        now = utcnow()
        assert all(now - timedelta(days=60) <= i.list_time <= now for i in items)
        assert len({i.category_id for i in items}) >= 18
        assert len({i.sold_quantity for i in items}) > 50
        skus = await rows(db, select(T["skus"]))
        assert any(s.quantity == 0 for s in skus)
        by_item = defaultdict(list)
        for s in skus:
            by_item[s.item_id].append(s.price)
        assert any(len(set(prices)) > 1 for prices in by_item.values())  # prices per size

    async def test_clothing_phones_and_food_have_full_sku_matrices(
        self, db: Database, storage: LocalStorage
    ) -> None:
        await seed_demo(db, storage, password=PASSWORD)

        sql = text(
            "SELECT c.name_en AS leaf, i.id, count(s.id) AS n FROM items i "
            "JOIN categories c ON c.id = i.category_id LEFT JOIN skus s ON s.item_id = i.id "
            "GROUP BY c.name_en, i.id"
        )
        per_leaf = defaultdict(set)
        for r in await rows(db, sql):
            per_leaf[r.leaf].add(r.n)
        assert min(per_leaf["Dresses"]) >= 2 * 5  # ≥ 2 colours × 5 sizes
        assert min(per_leaf["Sneakers"]) >= 2 * 9  # shoe sizes 36-44
        assert min(per_leaf["Phones"]) >= 2 * 3  # colours × 64/128/256GB
        assert per_leaf["Tea"] == {3} and per_leaf["Nuts"] == {3}
        assert per_leaf["Headphones"] == {0} and per_leaf["Fiction"] == {0}

    async def test_category_tree_paths_and_props(self, db: Database, storage: LocalStorage) -> None:
        await seed_demo(db, storage, password=PASSWORD)
        await assert_tree_correct(db)

    async def test_search_finds_dresses_in_both_languages(
        self, db: Database, storage: LocalStorage
    ) -> None:
        await seed_demo(db, storage, password=PASSWORD)

        chinese, english = await search(db, "连衣裙"), await search(db, "dress")

        assert FEATURED in chinese and FEATURED in english
        assert len(chinese) >= 15 and len(english) >= 15
        assert all("连衣裙" in t for t in chinese)

    async def test_titles_descriptions_and_images(
        self, db: Database, storage: LocalStorage
    ) -> None:
        await seed_demo(db, storage, password=PASSWORD)

        items = await rows(db, select(T["items"]))
        assert all(len(i.title) <= TITLE_MAX for i in items)
        assert len({i.title for i in items}) > 0.9 * len(items)
        for i in items:
            tags = set(re.findall(r"</?([a-zA-Z0-9]+)", i.description))
            assert tags <= {"p", "ul", "li", "strong"}, i.description
        images = defaultdict(list)
        for img in await rows(db, select(T["item_images"]).order_by(T["item_images"].c.position)):
            images[img.item_id].append(img)
        for i in items:
            mine = images[i.id]
            assert 1 <= len(mine) <= 4
            assert [m.position for m in mine] == list(range(len(mine)))
            assert i.pic_url == mine[0].url
        first_key = items[0].pic_url.removeprefix(storage.base_url + "/")
        assert storage.read(first_key)[:3] == b"\xff\xd8\xff"  # a JPEG
        logos = await rows(db, select(T["shops"].c.logo_key))
        assert all(storage.read(r.logo_key)[:4] == b"\x89PNG" for r in logos)


class TestSeedBulk:
    async def test_creates_the_requested_counts(self, db: Database, storage: LocalStorage) -> None:
        calls: list[tuple[str, int, int]] = []

        # when
        summary = await seed_bulk(
            db, storage, items=12_000, shops=5, progress=lambda *a: calls.append(a)
        )

        # then
        assert (summary.items, summary.shops) == (12_000, 5)
        assert await count(db, "items") == 12_000
        assert await count(db, "shops") == 5
        assert await count(db, "skus") == summary.skus > 0
        assert await count(db, "categories") == summary.categories
        nicks = [r.nick for r in await rows(db, select(T["users"].c.nick).order_by("nick"))]
        assert nicks == [f"bulk_seller_{n:06d}" for n in range(1, 6)]
        (stored,) = {r.password_hash for r in await rows(db, select(T["users"].c.password_hash))}
        assert verify_password(stored, BULK_PASSWORD)
        with_skus = await rows(db, text("SELECT count(DISTINCT item_id) AS n FROM skus"))
        assert 0.25 * 12_000 < with_skus[0].n < 0.35 * 12_000
        assert [c for c in calls if c[0] == "items"] == [
            ("items", 5_000, 12_000),
            ("items", 10_000, 12_000),
            ("items", 12_000, 12_000),
        ]
        assert ("shops", 5, 5) in calls
        await assert_catalog_consistent(db)
        await assert_tree_correct(db)

    async def test_titles_are_searchable_and_indexing_continues(
        self, db: Database, storage: LocalStorage
    ) -> None:
        # given
        await seed_bulk(db, storage, items=2_000, shops=5)
        found = await search(db, "连衣裙")
        assert found and all("连衣裙" in t for t in found)
        assert await search(db, "牛仔裤") and await search(db, "sneakers")

        # when an item is added the ordinary way afterwards
        async with db.write() as session:
            first = (await session.execute(select(T["items"]).limit(1))).one()
            session.add(
                Item(
                    shop_id=first.shop_id,
                    seller_id=first.seller_id,
                    category_id=first.category_id,
                    title="独一无二的测试宝贝 Unique probe",
                    price=100,
                )
            )

        # then: ids and the search index carry on (sequence moved, trigger back)
        assert "独一无二的测试宝贝 Unique probe" in await search(db, "独一无二")

    async def test_a_failure_rolls_everything_back(
        self, db: Database, storage: LocalStorage, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # given: planning fails in the second batch, while the first is being written
        real, made = seed_module.add_item_rows, []

        def failing(*args: Any) -> int:
            made.append(1)
            if len(made) > 7_000:
                raise RuntimeError("boom")
            return real(*args)

        monkeypatch.setattr(seed_module, "add_item_rows", failing)

        # when
        with pytest.raises(RuntimeError, match="boom"):
            await seed_bulk(db, storage, items=10_000, shops=2)

        # then: nothing was kept, and the search trigger is in place
        for table in ("items", "skus", "users", "shops", "categories"):
            assert await count(db, table) == 0, table
        monkeypatch.setattr(seed_module, "add_item_rows", real)
        await seed_bulk(db, storage, items=100, shops=1)
        (last,) = await rows(
            db, select(T["items"].c.title).order_by(T["items"].c.id.desc()).limit(1)
        )
        assert last.title in await search(db, last.title.split()[-1])
        if db.is_sqlite:
            triggers = await rows(db, text("SELECT name FROM sqlite_master WHERE type='trigger'"))
            assert "items_search_ai" in {r.name for r in triggers}

    async def test_adds_to_an_existing_marketplace(
        self, db: Database, storage: LocalStorage
    ) -> None:
        # given
        demo = await seed_demo(db, storage, password=PASSWORD)

        # when
        first = await seed_bulk(db, storage, items=500, shops=3)
        second = await seed_bulk(db, storage, items=500, shops=2, seed=2)

        # then: the tree is reused, and nicks keep counting
        assert await count(db, "categories") == demo.categories == first.categories
        assert await count(db, "items") == demo.items + 1_000
        bulk = await rows(
            db, select(T["users"].c.nick).where(T["users"].c.nick.like("bulk%")).order_by("nick")
        )
        assert [r.nick for r in bulk] == [f"bulk_seller_{n:06d}" for n in range(1, 6)]
        assert second.shops == 2
        await assert_catalog_consistent(db)


async def assert_catalog_consistent(db: Database) -> None:
    """price = min SKU price, quantity = SKU sum; each SKU names one value of each sale prop
    of its category, in pid order; every item has its category's must props."""
    items = {i.id: i for i in await rows(db, select(T["items"]))}
    props = await rows(db, select(T["item_props"]))
    values = {v.id: v.prop_id for v in await rows(db, select(T["prop_values"]))}
    sale_props: dict[int, list[int]] = defaultdict(list)
    must: dict[int, set[int]] = defaultdict(set)
    for p in sorted(props, key=lambda p: p.id):
        if p.is_sale_prop:
            sale_props[p.category_id].append(p.id)
        elif p.must:
            must[p.category_id].add(p.id)
    skus = defaultdict(list)
    for s in await rows(db, select(T["skus"])):
        skus[s.item_id].append(s)
    for item_id, item_skus in skus.items():
        item = items[item_id]
        assert item.price == min(s.price for s in item_skus)
        assert item.quantity == sum(s.quantity for s in item_skus)
        for s in item_skus:
            assert s.status == "normal"
            pairs = [tuple(map(int, part.split(":"))) for part in s.properties.split(";")]
            assert [p for p, _ in pairs] == sale_props[item.category_id], s.properties
            assert all(values[v] == p for p, v in pairs)
        assert len({s.properties for s in item_skus}) == len(item_skus)
    given: dict[int, set[int]] = defaultdict(set)
    for pv in await rows(db, select(T["item_prop_values"])):
        given[pv.item_id].add(pv.prop_id)
        assert pv.value_id is None or values[pv.value_id] == pv.prop_id
    for item in items.values():
        assert must[item.category_id] <= given[item.id]
        assert not given[item.id] & set(sale_props[item.category_id])


async def assert_tree_correct(db: Database) -> None:
    cats = {c.id: c for c in await rows(db, select(T["categories"]))}
    children = defaultdict(list)
    for c in cats.values():
        children[c.parent_id].append(c)
        parent_path = cats[c.parent_id].path if c.parent_id else "/"
        assert c.path == f"{parent_path}{c.id}/"
    for c in cats.values():
        assert c.is_parent == bool(children[c.id])
    leaves = [c for c in cats.values() if not c.is_parent]
    assert len(children[None]) >= 6
    assert len(leaves) == len(LEAVES) >= 18
    props = await rows(db, select(T["item_props"]))
    by_cat = defaultdict(list)
    for p in props:
        by_cat[p.category_id].append(p)
    for leaf in leaves:
        brand = [p for p in by_cat[leaf.id] if p.name == "品牌"]
        assert len(brand) == 1 and brand[0].is_key_prop and brand[0].must
    size = [p for p in props if p.name_en == "Size" and cats[p.category_id].name == "运动鞋"]
    assert size and size[0].is_sale_prop
    color = [p for p in props if p.name == "颜色" and cats[p.category_id].name == "连衣裙"]
    assert color[0].is_color_prop and color[0].is_sale_prop
