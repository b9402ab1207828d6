"""Every rule an item input must pass, and that a rejected create writes nothing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import service
from mercato.catalog.schemas import ItemInput, SkuInput
from mercato.kit.errors import NotFound, PermissionDenied, ValidationFailed
from mercato.models import Item, ItemImage, ItemPropValue, ItemSellerCat, Shop, Sku
from tests.catalog.conftest import World
from tests.factories.catalog import CatalogTree, make_seller, make_shop_category

Case = Callable[[CatalogTree], ItemInput]


def _sku(properties: str) -> SkuInput:
    return SkuInput(properties=properties, price="1", quantity=1)


def _size_under_color(t: CatalogTree) -> str:
    """Both pids present, but the color pid carries a size value."""
    return f"{t.color.id}:{t.vid(t.size, 'S')};{t.size.id}:{t.vid(t.size, 'M')}"


async def _row_counts(session: AsyncSession) -> list[int]:
    models = (Item, Sku, ItemImage, ItemPropValue, ItemSellerCat)
    return [await session.scalar(select(func.count()).select_from(m)) or 0 for m in models]


async def rejected(world: World, data: ItemInput) -> set[tuple[str, str]]:
    """The (field, rule) pairs a create is refused with; asserts that nothing was written,
    checked in the same session, where autoflush would reveal any pending row."""
    async with world.db.write() as session:
        before = await _row_counts(session)
        with pytest.raises(ValidationFailed) as err:
            await service.create_item(session, world.alice, data)
        assert await _row_counts(session) == before
    return {(p.field, p.rule) for p in err.value.problems}


CASES: dict[str, tuple[Case, Callable[[CatalogTree], tuple[str, str]]]] = {
    "blank title": (lambda t: t.item(title="   "), lambda t: ("title", "required")),
    "long title": (lambda t: t.item(title="裙" * 61), lambda t: ("title", "max_length")),
    "no category": (lambda t: t.item(category_id=999_999), lambda t: ("category_id", "not_found")),
    "parent category": (
        lambda t: t.item(category_id=t.clothing.id),
        lambda t: ("category_id", "leaf_category"),
    ),
    "closed category": (
        lambda t: t.item(category_id=t.closed.id),
        lambda t: ("category_id", "category_status"),
    ),
    "price not money": (lambda t: t.item(price="abc"), lambda t: ("price", "money")),
    "price 3 decimals": (lambda t: t.item(price="1.234"), lambda t: ("price", "money_precision")),
    "negative price": (lambda t: t.item(price="-1"), lambda t: ("price", "non_negative")),
    "no price": (lambda t: t.item(price=None), lambda t: ("price", "required")),
    "negative quantity": (lambda t: t.item(quantity=-1), lambda t: ("quantity", "range")),
    "huge quantity": (lambda t: t.item(quantity=1_000_001), lambda t: ("quantity", "range")),
    "no quantity": (lambda t: t.item(quantity=None), lambda t: ("quantity", "required")),
    "unknown prop": (
        lambda t: t.item(props={t.brand.id: [t.vid(t.brand, "Acme")], t.size.id + 100: [1]}),
        lambda t: (f"props.{t.size.id + 100}", "unknown_prop"),
    ),
    "value of another prop": (
        lambda t: t.item(props={t.brand.id: [t.vid(t.material, "棉")]}),
        lambda t: (f"props.{t.brand.id}", "unknown_value"),
    ),
    "must prop missing": (
        lambda t: t.item(props={}),
        lambda t: (f"props.{t.brand.id}", "required"),
    ),
    "two values for a single prop": (
        lambda t: t.item(props={t.brand.id: [t.vid(t.brand, "Acme"), t.vid(t.brand, "Zeta")]}),
        lambda t: (f"props.{t.brand.id}", "single_value"),
    ),
    "sale prop in props": (
        lambda t: t.item(
            props={t.brand.id: [t.vid(t.brand, "Acme")], t.color.id: [t.vid(t.color, "红色")]}
        ),
        lambda t: (f"props.{t.color.id}", "sale_prop"),
    ),
    "text prop as a choice": (
        lambda t: t.item(props={t.brand.id: [t.vid(t.brand, "Acme")], t.style_no.id: [1]}),
        lambda t: (f"props.{t.style_no.id}", "not_enum"),
    ),
    "long input prop": (
        lambda t: t.item(input_props={t.style_no.id: "x" * 201}),
        lambda t: (f"input_props.{t.style_no.id}", "max_length"),
    ),
    "choice prop as text": (
        lambda t: t.item(input_props={t.material.id: "棉"}),
        lambda t: (f"input_props.{t.material.id}", "not_input"),
    ),
    "sku missing a sale prop": (
        lambda t: t.item(skus=[_sku(f"{t.color.id}:{t.vid(t.color, '红色')}")]),
        lambda t: ("skus.0.properties", "sku_properties"),
    ),
    "sku with a non-sale prop": (
        lambda t: t.item(skus=[_sku(t.combo("红色", "S") + f";{t.brand.id}:1")]),
        lambda t: ("skus.0.properties", "sku_properties"),
    ),
    "sku with a foreign value": (
        lambda t: t.item(skus=[_sku(_size_under_color(t))]),
        lambda t: ("skus.0.properties", "sku_properties"),
    ),
    "malformed sku": (
        lambda t: t.item(skus=[_sku("red;S")]),
        lambda t: ("skus.0.properties", "sku_properties"),
    ),
    "duplicate sku": (
        lambda t: t.item(
            skus=[
                t.sku("红色", "S"),
                SkuInput(properties=t.combo("红色", "S"), price="2", quantity=1),
            ]
        ),
        lambda t: ("skus.1.properties", "sku_duplicate"),
    ),
    "too many skus": (
        lambda t: t.item(skus=[t.sku("红色", "S")] * 601),
        lambda t: ("skus", "max_count"),
    ),
    "sku price": (
        lambda t: t.item(skus=[t.sku("红色", "S", price="9.999")]),
        lambda t: ("skus.0.price", "money_precision"),
    ),
    "sku quantity": (
        lambda t: t.item(skus=[t.sku("红色", "S", quantity=-3)]),
        lambda t: ("skus.0.quantity", "range"),
    ),
    "skus without sale props": (
        lambda t: t.item(category_id=t.tops.id, props={}, skus=[t.sku("红色", "S")]),
        lambda t: ("skus", "sku_properties"),
    ),
    "long description": (
        lambda t: t.item(description="<p>" + "字" * 25_001 + "</p>"),
        lambda t: ("description", "max_length"),
    ),
    "too many images": (
        lambda t: t.item(image_keys=[f"items/aa/{i}.png" for i in range(11)]),
        lambda t: ("image_keys", "max_count"),
    ),
    "script image key": (
        lambda t: t.item(image_keys=["javascript:alert(1)"]),
        lambda t: ("image_keys.0", "image_key"),
    ),
    "duplicate image": (
        lambda t: t.item(image_keys=["items/aa/1.png", "items/aa/1.png"]),
        lambda t: ("image_keys", "duplicate"),
    ),
    "long outer id": (lambda t: t.item(outer_id="x" * 65), lambda t: ("outer_id", "max_length")),
    "long location": (
        lambda t: t.item(location_city="城" * 33),
        lambda t: ("location_city", "max_length"),
    ),
    "on sale without stock": (
        lambda t: t.item(approve_status="onsale", quantity=0),
        lambda t: ("quantity", "for_sale"),
    ),
    "on sale for nothing": (
        lambda t: t.item(approve_status="onsale", price="0"),
        lambda t: ("price", "for_sale"),
    ),
    "on sale with a free sku": (
        lambda t: t.item(
            approve_status="onsale", skus=[t.sku("红色", "S"), t.sku("蓝色", "S", price="0")]
        ),
        lambda t: ("price", "for_sale"),
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
async def test_rule(
    world: World, case: tuple[Case, Callable[[CatalogTree], tuple[str, str]]]
) -> None:
    make_input, expected = case
    assert expected(world.tree) in await rejected(world, make_input(world.tree))


async def test_every_problem_is_reported_at_once(world: World) -> None:
    t = world.tree
    data = t.item(title="", price="x", quantity=-1, props={}, outer_id="x" * 65)
    assert await rejected(world, data) == {
        ("title", "required"),
        ("price", "money"),
        ("quantity", "range"),
        (f"props.{t.brand.id}", "required"),
        ("outer_id", "max_length"),
    }


async def test_another_shops_category_is_refused(world: World) -> None:
    async with world.db.write() as session:
        bobs = await make_shop_category(session, world.bob_shop, "Bob's dresses")
    problems = await rejected(world, world.tree.item(seller_cat_ids=[bobs.id]))
    assert problems == {("seller_cat_ids", "unknown_seller_cat")}


async def test_limits_themselves_are_allowed(world: World) -> None:
    t = world.tree
    data = t.item(
        title="裙" * 60,
        quantity=1_000_000,
        input_props={t.style_no.id: "x" * 200},
        outer_id="x" * 64,
        image_keys=[f"items/aa/{i}.png" for i in range(10)],
        props={
            t.brand.id: [t.vid(t.brand, "Acme")],
            t.material.id: [t.vid(t.material, "棉"), t.vid(t.material, "丝")],
        },
    )
    async with world.db.write() as session:
        item = await service.create_item(session, world.alice, data)
    assert item.title == "裙" * 60 and item.quantity == 1_000_000


def test_quantity_must_be_an_integer() -> None:
    with pytest.raises(ValidationError):
        ItemInput(title="t", category_id=1, price="1", quantity=2.5)  # type: ignore[arg-type]


async def test_a_user_without_a_shop_cannot_create(world: World) -> None:
    async with world.db.write() as session:
        shopless, shop = await make_seller(session, "carol")
        await session.delete(shop)
    with pytest.raises(NotFound):
        async with world.db.write() as session:
            await service.create_item(session, shopless, world.tree.item())


async def test_a_closed_shop_cannot_create(world: World) -> None:
    async with world.db.write() as session:
        shop = await session.get(Shop, world.alice_shop.id)
        assert shop is not None
        shop.status = "closed"
    with pytest.raises(PermissionDenied):
        async with world.db.write() as session:
            await service.create_item(session, world.alice, world.tree.item())
