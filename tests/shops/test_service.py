from __future__ import annotations

import pytest
from sqlalchemy import func, select

from mercato.kit.db import Database
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.models import Shop, ShopCategory, User
from mercato.shops import service as shops
from mercato.shops.schemas import ShopCategoryInput, ShopInput
from tests.factories.accounts import make_user


async def test_opening_a_shop_makes_a_seller(db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "seller1")
        shop = await shops.open_shop(session, user, ShopInput(title="江南织造 Jiangnan Weaving"))
    assert shop.id > 0
    assert "seller" in user.role_names


async def test_one_shop_per_seller_and_nothing_half_written(db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "seller2")
        await shops.open_shop(session, user, ShopInput(title="First"))
    with pytest.raises(ValidationFailed) as err:
        async with db.write() as session:
            again = await session.get(User, user.id)
            assert again is not None
            await shops.open_shop(session, again, ShopInput(title="Second"))
    assert err.value.problems[0].rule == "one_per_seller"
    async with db.read() as session:
        assert await session.scalar(select(func.count()).select_from(Shop)) == 1


async def test_shop_category_tree_is_ordered_and_two_levels(db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "seller3")
        await shops.open_shop(session, user, ShopInput(title="Tree shop"))
        b = await shops.add_shop_category(session, user, ShopCategoryInput(name="B", sort_order=2))
        a = await shops.add_shop_category(session, user, ShopCategoryInput(name="A", sort_order=1))
        child = await shops.add_shop_category(
            session, user, ShopCategoryInput(name="A1", parent_id=a.id)
        )
        with pytest.raises(ValidationFailed) as err:
            await shops.add_shop_category(
                session, user, ShopCategoryInput(name="too deep", parent_id=child.id)
            )
        assert err.value.problems[0].rule == "max_depth"
        tree = await shops.shop_category_tree(session, (await shops.my_shop(session, user)).id)
    assert [n.category.name for n in tree] == ["A", "B"]
    assert [n.category.name for n in tree[0].children] == ["A1"]
    assert b.parent_id is None


async def test_a_seller_cannot_touch_another_shops_categories(db: Database) -> None:
    async with db.write() as session:
        alice = await make_user(session, "alice_s")
        bob = await make_user(session, "bob_s")
        await shops.open_shop(session, alice, ShopInput(title="Alice shop"))
        await shops.open_shop(session, bob, ShopInput(title="Bob shop"))
        cat = await shops.add_shop_category(session, alice, ShopCategoryInput(name="Mine"))
    async with db.write() as session:
        with pytest.raises(NotFound):
            await shops.update_shop_category(session, bob, cat.id, ShopCategoryInput(name="x"))
        with pytest.raises(NotFound):
            await shops.delete_shop_category(session, bob, cat.id)
        with pytest.raises(ValidationFailed):
            await shops.add_shop_category(
                session, bob, ShopCategoryInput(name="sub", parent_id=cat.id)
            )
    async with db.read() as session:
        names = (await session.scalars(select(ShopCategory.name))).all()
    assert names == ["Mine"]
