"""Catalog operations: categories, and items with their props, images and SKUs.

Writes validate the whole input first, collecting every problem into one
``ValidationFailed``, and only then touch rows, so a rejected write leaves nothing behind.
Services flush; the unit of work at the edge commits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import nh3
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.catalog import repository as repo
from mercato.catalog.images import image_url, is_image_key
from mercato.catalog.schemas import (
    DELETED,
    INSTOCK,
    ONSALE,
    SKU_DELETED,
    SKU_NORMAL,
    CategoryNode,
    ItemDetail,
    ItemInput,
    PropLine,
    SaleProp,
    SaleValue,
    SkuInput,
)
from mercato.events import outbox
from mercato.kit import cache
from mercato.kit.clock import utcnow
from mercato.kit.errors import (
    Conflict,
    FieldProblem,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from mercato.kit.money import format_fen, parse_yuan
from mercato.kit.pagination import Page, PageRequest
from mercato.kit.storage import Storage
from mercato.models import (
    Category,
    Item,
    ItemImage,
    ItemProp,
    ItemPropValue,
    ItemSellerCat,
    PropValue,
    Shop,
    Sku,
    User,
)
from mercato.trade import events as item_events

# Categories and their properties change only by the operator's hand (kit/cache.py).
CATEGORY_ROWS = cache.Watch(Category, ItemProp, PropValue)
CATEGORY_CACHE_S = 5.0

MAX_TITLE = 60
MAX_QUANTITY = 1_000_000
MAX_SKUS = 600
MAX_SKU_PROPERTIES = 255  # the column's width
MAX_IMAGES = 10
MAX_DESCRIPTION = 25_000
MAX_INPUT_PROP = 200
MAX_OUTER_ID = 64
MAX_LOCATION = 32

# Formatting a seller needs for a product description; no scripts, styles, forms or frames.
DESCRIPTION_TAGS = {
    "p", "br", "hr", "div", "span", "b", "strong", "i", "em", "u", "s", "del", "ins", "sub",
    "sup", "small", "mark", "blockquote", "pre", "code", "h1", "h2", "h3", "h4", "h5", "h6",
    "ul", "ol", "li", "dl", "dt", "dd", "table", "thead", "tbody", "tfoot", "tr", "th", "td",
    "caption", "figure", "figcaption", "a", "img",
}  # fmt: skip
DESCRIPTION_ATTRIBUTES = {
    "img": {"src", "alt", "width", "height"},
    "a": {"href", "title"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}

_PAIR = re.compile(r"(\d+):(\d+)", re.ASCII)


# ---------------------------------------------------------------- categories


async def get_category(session: AsyncSession, cid: int) -> Category:
    category = await repo.get_category(session, cid)
    if category is None:
        raise NotFound(f"category {cid} does not exist")
    return category


async def listing_category(session: AsyncSession, cid: int) -> Category:
    """The category if new items can be listed in it (open, and a leaf); otherwise
    ValidationFailed on ``category_id`` naming the rule."""
    problems = _Problems()
    rules = await _category_rules(session, cid, problems)
    _raise_if(problems.items)
    assert rules is not None
    return rules.category


async def _shown_category(session: AsyncSession, cid: int) -> tuple[Category, list[ItemProp]]:
    """A category and its properties, to show an item with: reference data every item
    read needs and only the operator changes, so kept briefly (``kit.cache``). Checks
    before a write read them afresh (``_category_rules``)."""
    caches = cache.caches_of(session)
    shown = cache.cache_in(caches, "catalog.categories", CATEGORY_ROWS, CATEGORY_CACHE_S)
    found: tuple[Category, list[ItemProp]] | None = shown.get(cid)
    if found is None:
        seen = CATEGORY_ROWS.generation
        found = (await get_category(session, cid), await repo.category_props(session, cid))
        cache.keep(session, found[0], *found[1])
        shown.put(cid, found, seen)
    return found


async def category_props(session: AsyncSession, cid: int) -> list[ItemProp]:
    """The category's props in display order, each with its values loaded."""
    await get_category(session, cid)
    return await repo.category_props(session, cid)


async def leaf_categories(session: AsyncSession) -> list[Category]:
    return await repo.leaf_categories(session)


async def category_tree(session: AsyncSession) -> list[CategoryNode]:
    """Normal categories as a forest; a hidden category hides its whole subtree."""
    categories = await repo.normal_categories(session)
    nodes = {c.id: CategoryNode(c) for c in categories}
    roots: list[CategoryNode] = []
    for category in categories:  # already in sort order, so children come out sorted
        node = nodes[category.id]
        if category.parent_id is None:
            roots.append(node)
        elif category.parent_id in nodes:
            nodes[category.parent_id].children.append(node)
    return roots


# ---------------------------------------------------------------- item writes


async def create_item(
    session: AsyncSession, seller: User, data: ItemInput, *, storage: Storage | None = None
) -> Item:
    """Create an item in the seller's shop. ``storage`` turns image keys into URLs."""
    shop = await _seller_shop(session, seller)
    plan = await _plan(session, shop, data, storage)
    item = Item(
        shop_id=shop.id,
        seller_id=seller.id,
        approve_status=INSTOCK,
        images=[],
        skus=[],
        prop_values=[],
        seller_cats=[],
    )
    _apply(item, plan)
    session.add(item)
    await session.flush()
    return item


async def update_item(
    session: AsyncSession,
    seller: User,
    item_id: int,
    data: ItemInput,
    *,
    storage: Storage | None = None,
) -> Item:
    """Replace an item's fields, props, images and SKUs. A SKU whose properties are
    unchanged keeps its id; a removed SKU is marked deleted, never removed, because trades
    refer to it."""
    shop = await _seller_shop(session, seller)
    item = await _own_item(session, seller, item_id)
    plan = await _plan(session, shop, data, storage)
    _apply(item, plan)
    item.modified_at = utcnow()  # children may be all that changed
    await session.flush()
    return item


async def set_listing(session: AsyncSession, seller: User, item_id: int, onsale: bool) -> Item:
    """Put an item on sale or take it off. Going on sale needs stock and a price."""
    item = await _own_item(session, seller, item_id)
    if onsale:
        _raise_if(_for_sale_problems(item.price, item.quantity))
    _set_status(item, ONSALE if onsale else INSTOCK)
    await session.flush()
    return item


async def delete_item(session: AsyncSession, seller: User, item_id: int) -> None:
    """Delete an item for everyone. The row stays (as do its SKUs) for the trades that
    refer to it; it disappears from every list, page and search."""
    item = await _own_item(session, seller, item_id)
    _set_status(item, DELETED)
    for sku in item.skus:
        sku.status = SKU_DELETED
    await session.flush()


# ---------------------------------------------------------------- partial edits
# The open API changes one aspect of an item at a time (a SKU, the stock, an image); these
# start from the item as it stands and go through the same rules as a whole-item save.


def item_input_of(detail: ItemDetail) -> ItemInput:
    """The item as it stands, as the input that would save it unchanged: where a partial
    edit starts before it changes a few fields."""
    item = detail.item
    return ItemInput(
        title=item.title,
        category_id=item.category_id,
        price=format_fen(item.price),
        quantity=item.quantity,
        description=item.description,
        props={pid: list(vids) for pid, vids in detail.prop_vids.items()},
        input_props=dict(detail.input_props),
        location_state=item.location_state,
        location_city=item.location_city,
        outer_id=item.outer_id,
        approve_status=ONSALE if item.approve_status == ONSALE else INSTOCK,
        seller_cat_ids=list(detail.seller_cat_ids),
        skus=[
            SkuInput(
                properties=sku.properties,
                price=format_fen(sku.price),
                quantity=sku.quantity,
                outer_id=sku.outer_id,
                barcode=sku.barcode,
            )
            for sku in detail.skus
        ],
        image_keys=[image.url for image in detail.images],
    )


async def add_sku(session: AsyncSession, seller: User, item_id: int, sku: SkuInput) -> Sku:
    """Add one SKU to an item, keeping the others; the item's price and stock follow.
    A combination the item already has is a Conflict (``sku_exists``)."""
    detail = await get_own_item_detail(session, seller, item_id)
    properties = _canonical_properties(sku.properties, None)
    if properties is not None and properties in detail.sku_by_properties():
        raise Conflict(f"item {item_id} already has the SKU {properties}", code="sku_exists")
    data = item_input_of(detail)
    data = data.model_copy(update={"skus": [*data.skus, sku]})
    item = await update_item(session, seller, item_id, data)
    return _normal_sku(item, properties or "")


async def update_sku(
    session: AsyncSession,
    seller: User,
    item_id: int,
    properties: str,
    *,
    price: str | None = None,
    quantity: int | None = None,
    outer_id: str | None = None,
) -> Sku:
    """Change one SKU (named by its properties) of an item; None leaves a field as it is."""
    detail = await get_own_item_detail(session, seller, item_id)
    canonical = _canonical_properties(properties, None)
    if canonical is None:
        raise ValidationFailed.one("properties", "sku_properties", "not pid:vid;pid:vid")
    if canonical not in detail.sku_by_properties():
        raise NotFound(f"item {item_id} has no SKU {canonical}", code="sku_not_found")
    changes = {"price": price, "quantity": quantity, "outer_id": outer_id}
    changes = {name: value for name, value in changes.items() if value is not None}
    data = item_input_of(detail)
    skus = [s.model_copy(update=changes) if s.properties == canonical else s for s in data.skus]
    item = await update_item(session, seller, item_id, data.model_copy(update={"skus": skus}))
    return _normal_sku(item, canonical)


def _normal_sku(item: Item, properties: str) -> Sku:
    return next(s for s in item.skus if s.properties == properties and s.status == SKU_NORMAL)


async def set_stock(
    session: AsyncSession,
    seller: User,
    item_id: int,
    quantity: int,
    *,
    sku_id: int | None = None,
    sku_outer_id: str | None = None,
    delta: bool = False,
) -> tuple[Item, Sku | None]:
    """Set the stock of an item, or of one of its SKUs (by id, else by outer id), to
    ``quantity``; with ``delta``, add ``quantity`` to it (negative takes). An item with SKUs
    holds the sum of its SKUs' stock, so its stock changes through one SKU. A change records
    ``taobao_item_ItemStockChanged``, like the stock a checkout takes."""
    item = await _own_item(session, seller, item_id)
    skus = [sku for sku in item.skus if sku.status == SKU_NORMAL]
    sku = _stock_sku(item_id, skus, sku_id, sku_outer_id)
    if sku is None and skus:
        raise ValidationFailed.one("sku_id", "sku_required", "the item has SKUs: name one")
    before = sku.quantity if sku is not None else item.quantity
    after = before + quantity if delta else quantity
    problems = _Problems()
    _check_quantity(after, "quantity", problems)
    _raise_if(problems.items)
    if sku is not None:
        sku.quantity = after
        item.quantity = derive_price_quantity(skus)[1]
    else:
        item.quantity = after
    if after != before:
        item.event_seq = (item.event_seq or 0) + 1
        await _record_stock_change(session, seller, item, sku, after - before)
    await session.flush()
    return item, sku


def _stock_sku(
    item_id: int, skus: list[Sku], sku_id: int | None, outer_id: str | None
) -> Sku | None:
    if sku_id is None and not outer_id:
        return None
    if sku_id is not None:
        found = next((s for s in skus if s.id == sku_id), None)
    else:
        found = next((s for s in skus if s.outer_id == outer_id), None)
    if found is None:
        raise NotFound(f"item {item_id} has no such SKU", code="sku_not_found")
    return found


async def _record_stock_change(
    session: AsyncSession, seller: User, item: Item, sku: Sku | None, increment: int
) -> None:
    await outbox.record_event(
        session,
        topic=item_events.ITEM_STOCK_CHANGED,
        subject=item_events.item_subject(item.id),
        seq=item.event_seq,
        user_id=seller.id,
        user_nick=seller.nick,
        content=item_events.stock_content(
            item,
            nick=seller.nick,
            num=item.quantity,
            sku_id=sku.id if sku is not None else None,
            sku_num=sku.quantity if sku is not None else None,
            increment=increment,
        ),
    )


async def list_item(session: AsyncSession, seller: User, item_id: int, num: int) -> Item:
    """Put an item on sale with ``num`` in stock. An item with SKUs keeps the sum of its
    SKUs' stock, whatever ``num`` says."""
    item = await _own_item(session, seller, item_id)
    if not any(sku.status == SKU_NORMAL for sku in item.skus):
        await set_stock(session, seller, item_id, num)
    return await set_listing(session, seller, item_id, True)


async def put_item_image(
    session: AsyncSession,
    seller: User,
    item_id: int,
    key: str | None,
    *,
    image_id: int | None = None,
    position: int | None = None,
    major: bool = False,
    storage: Storage | None = None,
) -> ItemImage:
    """Add the stored image ``key`` to an item, or with ``image_id`` replace (``key``)
    and/or move one of its images. ``major`` puts it first (the list picture), else
    ``position`` (0-based) places it; a new image otherwise goes last."""
    item = await _own_item(session, seller, item_id)
    images = list(item.images)
    if key is not None and not is_image_key(key):
        raise ValidationFailed.one("image", "image_key", "not an uploaded image")
    if image_id is not None:
        image = next((i for i in images if i.id == image_id), None)
        if image is None:
            raise NotFound(f"item {item_id} has no image {image_id}", code="item_img_not_found")
        at = images.index(image)
        images.remove(image)
    elif key is None:
        raise ValidationFailed.one("image", "missing", "an image is required")
    elif len(images) >= MAX_IMAGES:
        raise ValidationFailed.one("image", "max_count", f"at most {MAX_IMAGES} images")
    else:
        image, at = ItemImage(url=""), len(images)
    if key is not None:
        image.url = image_url(key, storage)
    if major:
        at = 0
    elif position is not None:
        at = max(0, min(position, len(images)))
    images.insert(at, image)
    for i, row in enumerate(images):
        row.position = i
    item.images = images
    item.pic_url = images[0].url
    item.modified_at = utcnow()
    await session.flush()
    return image


def derive_price_quantity(skus: Iterable[_Priced]) -> tuple[int, int]:
    """An item with SKUs costs its cheapest SKU and holds the stock of all of them."""
    rows = list(skus)
    if not rows:
        raise ValueError("an item without SKUs keeps its own price and quantity")
    return min(s.price for s in rows), sum(s.quantity for s in rows)


# ---------------------------------------------------------------- item reads


async def get_item_detail(
    session: AsyncSession, item_id: int, viewer: User | None = None
) -> ItemDetail:
    """An item page. Items in stock (not on sale) are visible to their seller only;
    to anyone else they do not exist."""
    item = await repo.get_item(session, item_id)
    if item is None or not _visible(item, viewer):
        raise NotFound(f"item {item_id} does not exist")
    category, props = await _shown_category(session, item.category_id)
    shop = await repo.get_shop(session, item.shop_id)
    if shop is None:  # the foreign key makes this impossible; keeps the type honest
        raise NotFound(f"item {item_id} does not exist")
    return _detail(item, category, shop, props)


async def get_own_item_detail(session: AsyncSession, seller: User, item_id: int) -> ItemDetail:
    """The seller's own item, for editing, whatever its status; another seller's item does
    not exist."""
    item = await _own_item(session, seller, item_id)
    return await get_item_detail(session, item.id, viewer=seller)


async def list_seller_items(
    session: AsyncSession, seller: User, approve_status: str | None, page: PageRequest
) -> Page[Item]:
    """The seller's own items, most recently changed first; None means on sale and in stock."""
    if approve_status not in (None, ONSALE, INSTOCK):
        raise ValidationFailed.one("approve_status", "choice", "must be onsale or instock")
    return await repo.list_seller_items(session, seller.id, approve_status, page)


# ---------------------------------------------------------------- access


async def _seller_shop(session: AsyncSession, seller: User) -> Shop:
    shop = await repo.shop_of_seller(session, seller.id)
    if shop is None:
        raise NotFound("open a shop before listing items", code="shop_not_found")
    if shop.status != "normal" or seller.status != "normal":
        raise PermissionDenied("this shop cannot list items at the moment")
    return shop


async def _own_item(session: AsyncSession, seller: User, item_id: int) -> Item:
    # Someone else's item is "not found", never "forbidden", so ids cannot be probed.
    item = await repo.get_seller_item(session, seller.id, item_id, for_update=True)
    if item is None:
        raise NotFound(f"item {item_id} does not exist")
    return item


def _visible(item: Item, viewer: User | None) -> bool:
    return item.approve_status == ONSALE or (viewer is not None and viewer.id == item.seller_id)


# ---------------------------------------------------------------- validation


class _Priced(Protocol):
    @property
    def price(self) -> int: ...
    @property
    def quantity(self) -> int: ...


@dataclass(frozen=True)
class _SkuRow:
    properties: str  # canonical: sorted by pid
    price: int
    quantity: int
    outer_id: str | None
    barcode: str | None


@dataclass(frozen=True)
class _PropRow:
    prop_id: int
    value_id: int | None
    text: str | None


@dataclass(frozen=True)
class _Plan:
    """A fully validated item input, ready to be written."""

    title: str
    category_id: int
    price: int
    quantity: int
    description: str
    outer_id: str | None
    location_state: str
    location_city: str
    approve_status: str
    props: list[_PropRow]
    skus: list[_SkuRow]
    image_urls: list[str]
    seller_cat_ids: list[int]


class _Problems:
    def __init__(self) -> None:
        self.items: list[FieldProblem] = []

    def add(self, field: str, rule: str, message: str) -> None:
        self.items.append(FieldProblem(field, rule, message))

    def money(self, value: str, field: str) -> int | None:
        try:
            return parse_yuan(value, field)
        except ValidationFailed as exc:
            self.items.extend(exc.problems)
            return None


def _raise_if(problems: list[FieldProblem]) -> None:
    if problems:
        raise ValidationFailed(problems)


@dataclass(frozen=True)
class _Rules:
    """A usable leaf category and its props."""

    category: Category
    props: list[ItemProp]

    def prop(self, pid: int) -> ItemProp | None:
        return next((p for p in self.props if p.id == pid), None)

    def sale_values(self) -> dict[int, set[int]]:
        """Sale prop id -> its value ids."""
        return {p.id: {v.id for v in p.values} for p in self.props if p.is_sale_prop}


async def _plan(
    session: AsyncSession, shop: Shop, data: ItemInput, storage: Storage | None
) -> _Plan:
    problems = _Problems()
    rules = await _category_rules(session, data.category_id, problems)
    skus = _check_skus(data.skus, rules, problems)
    price, quantity = _price_quantity(data, skus, problems)
    if data.approve_status == ONSALE and price is not None and quantity is not None:
        problems.items.extend(_for_sale_problems(price, quantity))
    plan = _Plan(
        title=_check_title(data.title, problems),
        category_id=data.category_id,
        price=price or 0,
        quantity=quantity or 0,
        description=_clean_description(data.description, problems),
        outer_id=_short_text(data.outer_id, "outer_id", MAX_OUTER_ID, problems) or None,
        location_state=_short_text(data.location_state, "location_state", MAX_LOCATION, problems),
        location_city=_short_text(data.location_city, "location_city", MAX_LOCATION, problems),
        approve_status=data.approve_status,
        props=_check_props(data, rules, problems) if rules else [],
        skus=skus,
        image_urls=_check_images(data.image_keys, storage, problems),
        seller_cat_ids=await _check_seller_cats(session, shop, data.seller_cat_ids, problems),
    )
    _raise_if(problems.items)
    return plan


async def _category_rules(session: AsyncSession, cid: int, problems: _Problems) -> _Rules | None:
    category = await repo.get_category(session, cid)
    if category is None:
        problems.add("category_id", "not_found", "no such category")
    elif category.status != "normal":
        problems.add("category_id", "category_status", "this category is closed")
    elif category.is_parent:
        problems.add("category_id", "leaf_category", "choose a category without subcategories")
    else:
        return _Rules(category, await repo.category_props(session, cid))
    return None


def _check_title(title: str, problems: _Problems) -> str:
    title = title.strip()
    if not title:
        problems.add("title", "required", "a title is required")
    elif len(title) > MAX_TITLE:
        problems.add("title", "max_length", f"at most {MAX_TITLE} characters")
    return title


def _short_text(value: str | None, field: str, limit: int, problems: _Problems) -> str:
    value = (value or "").strip()
    if len(value) > limit:
        problems.add(field, "max_length", f"at most {limit} characters")
    return value


def _check_quantity(value: int, field: str, problems: _Problems) -> int:
    if not 0 <= value <= MAX_QUANTITY:
        problems.add(field, "range", f"must be between 0 and {MAX_QUANTITY}")
    return value


def _price_quantity(
    data: ItemInput, skus: list[_SkuRow], problems: _Problems
) -> tuple[int | None, int | None]:
    """With SKUs, price and quantity follow from them; otherwise the item's own count."""
    if skus:
        return derive_price_quantity(skus)
    if data.skus:  # SKUs were given but all are invalid: their problems are reported
        return None, None
    price = quantity = None
    if data.price is None:
        problems.add("price", "required", "a price is required")
    else:
        price = problems.money(data.price, "price")
    if data.quantity is None:
        problems.add("quantity", "required", "a quantity is required")
    else:
        quantity = _check_quantity(data.quantity, "quantity", problems)
    return price, quantity


def _for_sale_problems(price: int, quantity: int) -> list[FieldProblem]:
    problems = []
    if price <= 0:
        problems.append(FieldProblem("price", "for_sale", "an item on sale needs a price"))
    if quantity <= 0:
        problems.append(FieldProblem("quantity", "for_sale", "an item on sale needs stock"))
    return problems


def _clean_description(html: str, problems: _Problems) -> str:
    if len(html) > 4 * MAX_DESCRIPTION:  # don't spend time sanitizing what we will refuse
        problems.add("description", "max_length", f"at most {MAX_DESCRIPTION} characters")
        return ""
    clean = nh3.clean(
        html,
        tags=DESCRIPTION_TAGS,
        attributes=DESCRIPTION_ATTRIBUTES,
        url_schemes={"http", "https"},
        link_rel="noopener noreferrer nofollow",
    )
    if len(clean) > MAX_DESCRIPTION:
        problems.add("description", "max_length", f"at most {MAX_DESCRIPTION} characters")
    return clean


def _check_images(keys: list[str], storage: Storage | None, problems: _Problems) -> list[str]:
    if len(keys) > MAX_IMAGES:
        problems.add("image_keys", "max_count", f"at most {MAX_IMAGES} images")
        return []
    if len(set(keys)) != len(keys):
        problems.add("image_keys", "duplicate", "the same image is given twice")
    for i, key in enumerate(keys):
        if not is_image_key(key):
            problems.add(f"image_keys.{i}", "image_key", "not an uploaded image")
    return [image_url(key, storage) for key in keys]


async def _check_seller_cats(
    session: AsyncSession, shop: Shop, ids: list[int], problems: _Problems
) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if set(wanted) - await repo.shop_category_ids(session, shop.id, wanted):
        problems.add("seller_cat_ids", "unknown_seller_cat", "not a category of your shop")
    return wanted


# ---------------------------------------------------------------- props


def _check_props(data: ItemInput, rules: _Rules, problems: _Problems) -> list[_PropRow]:
    rows = _check_enum_props(data.props, rules, problems)
    rows += _check_input_props(data.input_props, rules, problems)
    given = {row.prop_id for row in rows}
    for prop in rules.props:
        # Sale props are carried by the SKUs, and an item may have none (like TOP).
        if prop.must and not prop.is_sale_prop and prop.id not in given:
            field = "props" if prop.is_enum_prop else "input_props"
            problems.add(f"{field}.{prop.id}", "required", f"{prop.name} is required")
    return rows


def _check_enum_props(
    props: dict[int, list[int]], rules: _Rules, problems: _Problems
) -> list[_PropRow]:
    rows: list[_PropRow] = []
    for pid, vids in props.items():
        field, prop = f"props.{pid}", rules.prop(pid)
        vids = list(dict.fromkeys(vids))
        if prop is None:
            problems.add(field, "unknown_prop", "not a property of this category")
        elif prop.is_sale_prop:
            problems.add(field, "sale_prop", "sale properties are set through the SKUs")
        elif not prop.is_enum_prop:
            problems.add(field, "not_enum", f"{prop.name} takes text, not a choice")
        elif not set(vids) <= {v.id for v in prop.values}:
            problems.add(field, "unknown_value", f"not a value of {prop.name}")
        elif len(vids) > 1 and not prop.multi:
            problems.add(field, "single_value", f"{prop.name} takes one value")
        else:
            rows += [_PropRow(pid, vid, None) for vid in vids]
    return rows


def _check_input_props(
    inputs: dict[int, str], rules: _Rules, problems: _Problems
) -> list[_PropRow]:
    rows: list[_PropRow] = []
    for pid, raw in inputs.items():
        field, prop, text = f"input_props.{pid}", rules.prop(pid), raw.strip()
        if prop is None:
            problems.add(field, "unknown_prop", "not a property of this category")
        elif prop.is_sale_prop:
            problems.add(field, "sale_prop", "sale properties are set through the SKUs")
        elif not prop.is_input_prop:
            problems.add(field, "not_input", f"choose a value of {prop.name}")
        elif len(text) > MAX_INPUT_PROP:
            problems.add(field, "max_length", f"at most {MAX_INPUT_PROP} characters")
        elif text:
            rows.append(_PropRow(pid, None, text))
    return rows


# ---------------------------------------------------------------- SKUs


def _check_skus(skus: list[SkuInput], rules: _Rules | None, problems: _Problems) -> list[_SkuRow]:
    if not skus:
        return []
    if len(skus) > MAX_SKUS:
        problems.add("skus", "max_count", f"at most {MAX_SKUS} SKUs")
        return []
    sale = rules.sale_values() if rules is not None else None
    if sale == {}:
        problems.add("skus", "sku_properties", "this category has no sale properties")
        return []
    rows: list[_SkuRow] = []
    seen: set[str] = set()
    for i, sku in enumerate(skus):
        row = _check_sku(i, sku, sale, problems)
        if row is not None and row.properties in seen:
            problems.add(f"skus.{i}.properties", "sku_duplicate", "this combination is repeated")
        elif row is not None:
            seen.add(row.properties)
            rows.append(row)
    return rows


def _check_sku(
    i: int, sku: SkuInput, sale: dict[int, set[int]] | None, problems: _Problems
) -> _SkuRow | None:
    before = len(problems.items)
    properties = _canonical_properties(sku.properties, sale)
    if properties is None:
        problems.add(
            f"skus.{i}.properties",
            "sku_properties",
            "name exactly one value for each sale property",
        )
    price = problems.money(sku.price, f"skus.{i}.price")
    quantity = _check_quantity(sku.quantity, f"skus.{i}.quantity", problems)
    outer_id = _short_text(sku.outer_id, f"skus.{i}.outer_id", MAX_OUTER_ID, problems)
    barcode = _short_text(sku.barcode, f"skus.{i}.barcode", MAX_OUTER_ID, problems)
    if len(problems.items) > before or properties is None or price is None:
        return None
    return _SkuRow(properties, price, quantity, outer_id or None, barcode or None)


def parse_properties(text: str) -> dict[int, int] | None:
    """``"pid:vid;pid:vid"`` as {pid: vid}; None when malformed or a pid repeats."""
    pairs: dict[int, int] = {}
    for part in text.split(";"):
        match = _PAIR.fullmatch(part.strip())
        if match is None or int(match[1]) in pairs:
            return None
        pairs[int(match[1])] = int(match[2])
    return pairs


def _canonical_properties(text: str, sale: dict[int, set[int]] | None) -> str | None:
    """The one spelling of a valid combination (sorted by pid), or None when invalid.
    ``sale`` maps each sale prop to its values; None (no usable category) checks syntax."""
    pairs = parse_properties(text)
    if pairs is None:
        return None
    if sale is not None and (
        set(pairs) != set(sale) or any(vid not in sale[pid] for pid, vid in pairs.items())
    ):
        return None
    canonical = ";".join(f"{pid}:{vid}" for pid, vid in sorted(pairs.items()))
    return canonical if len(canonical) <= MAX_SKU_PROPERTIES else None


# ---------------------------------------------------------------- writing


def _apply(item: Item, plan: _Plan) -> None:
    item.title = plan.title
    item.category_id = plan.category_id
    item.price = plan.price
    item.quantity = plan.quantity
    item.description = plan.description
    item.outer_id = plan.outer_id
    item.location_state = plan.location_state
    item.location_city = plan.location_city
    item.pic_url = plan.image_urls[0] if plan.image_urls else None
    item.images = [ItemImage(url=url, position=i) for i, url in enumerate(plan.image_urls)]
    item.prop_values = [
        ItemPropValue(prop_id=p.prop_id, value_id=p.value_id, text=p.text) for p in plan.props
    ]
    _sync_seller_cats(item, plan.seller_cat_ids)
    _sync_skus(item, plan.skus)
    _set_status(item, plan.approve_status)


def _sync_seller_cats(item: Item, ids: list[int]) -> None:
    # Keep the rows that stay: deleting and re-inserting the same composite key in one
    # flush is needless churn.
    kept = [link for link in item.seller_cats if link.shop_category_id in ids]
    have = {link.shop_category_id for link in kept}
    item.seller_cats = kept + [ItemSellerCat(shop_category_id=i) for i in ids if i not in have]


def _sync_skus(item: Item, rows: list[_SkuRow]) -> None:
    # Deleted SKUs count too: (item_id, properties) is unique, so a combination that comes
    # back revives its old row (and id) instead of clashing with it.
    existing = {sku.properties: sku for sku in item.skus}
    wanted = {row.properties for row in rows}
    for old in item.skus:
        if old.properties not in wanted:
            old.status = SKU_DELETED
    for row in rows:
        sku = existing.get(row.properties)
        if sku is None:
            sku = Sku(properties=row.properties)
            item.skus.append(sku)
        sku.price, sku.quantity = row.price, row.quantity
        sku.outer_id, sku.barcode, sku.status = row.outer_id, row.barcode, SKU_NORMAL


def _set_status(item: Item, status: str) -> None:
    if item.approve_status == status:
        return
    now = utcnow()
    if status == ONSALE:
        item.list_time, item.delist_time = now, None
    elif item.approve_status == ONSALE:
        item.delist_time = now
    item.approve_status = status


# ---------------------------------------------------------------- detail


def loaded_children(item: Item, part: str) -> list[Any]:
    """An item's children of one part (``repo.ITEM_PARTS``), or none when that part was
    not loaded."""
    return [] if part in inspect(item).unloaded else list(getattr(item, part))


def _detail(item: Item, category: Category, shop: Shop, props: list[ItemProp]) -> ItemDetail:
    skus = [sku for sku in loaded_children(item, "skus") if sku.status == SKU_NORMAL]
    prop_vids: dict[int, list[int]] = {}
    input_props: dict[int, str] = {}
    for row in loaded_children(item, "prop_values"):
        if row.value_id is not None:
            prop_vids.setdefault(row.prop_id, []).append(row.value_id)
        elif row.text is not None:
            input_props[row.prop_id] = row.text
    return ItemDetail(
        item=item,
        category=category,
        shop=shop,
        images=loaded_children(item, "images"),
        skus=skus,
        props=_prop_lines(props, prop_vids, input_props),
        sale_props=_sale_props(props, skus),
        prop_vids=prop_vids,
        input_props=input_props,
        seller_cat_ids=[link.shop_category_id for link in loaded_children(item, "seller_cats")],
    )


def _prop_lines(
    props: list[ItemProp], prop_vids: dict[int, list[int]], input_props: dict[int, str]
) -> list[PropLine]:
    lines = []
    for prop in props:
        chosen = set(prop_vids.get(prop.id, ()))
        names = [v.name for v in prop.values if v.id in chosen]
        if prop.id in input_props:
            names.append(input_props[prop.id])
        if names:
            lines.append(PropLine(prop.name, names))
    return lines


def _sale_props(props: list[ItemProp], skus: list[Sku]) -> list[SaleProp]:
    used: set[tuple[int, int]] = set()
    for sku in skus:
        used |= set((parse_properties(sku.properties) or {}).items())
    return [
        SaleProp(
            pid=prop.id,
            name=prop.name,
            is_color=prop.is_color_prop,
            values=[SaleValue(v.id, v.name) for v in prop.values if (prop.id, v.id) in used],
        )
        for prop in props
        if prop.is_sale_prop and any(pid == prop.id for pid, _ in used)
    ]


# ---------------------------------------------------------------- open API reads


@dataclass(frozen=True)
class ItemView:
    """A seller's own item as the open API shows it: its detail, and its category's props by
    id, to name the pids and vids of ``props_name`` and SKU ``properties_name``."""

    detail: ItemDetail
    props: dict[int, ItemProp]


async def filter_seller_items(
    session: AsyncSession, seller: User, filters: repo.SellerItemFilter, page: PageRequest
) -> Page[Item]:
    """The seller's own items on sale or in stock, filtered and ordered as the open API's
    item lists ask; only ever this seller's."""
    if filters.approve_status not in (ONSALE, INSTOCK):
        raise ValidationFailed.one("approve_status", "choice", "must be onsale or instock")
    return await repo.filter_seller_items(session, seller.id, filters, page)


async def get_own_item_views(
    session: AsyncSession,
    seller: User,
    item_ids: Iterable[int],
    parts: frozenset[str] = repo.ALL_ITEM_PARTS,
) -> list[ItemView]:
    """The seller's own live items among ``item_ids``, in the order asked, each with the
    children named in ``parts`` (``repo.ITEM_PARTS``: images, normal SKUs, props, seller
    categories; the others are left empty, for callers that will not show them); someone
    else's or unknown ids are left out. Reads only: no row locks, unlike the edit path."""
    ids = list(dict.fromkeys(item_ids))
    found = await repo.seller_items_by_ids(session, seller.id, ids, parts)
    items = {i.id: i for i in found}
    shop = await repo.shop_of_seller(session, seller.id)
    if shop is None or not items:
        return []
    cats: dict[int, tuple[Category, list[ItemProp]]] = {}
    for cid in {item.category_id for item in items.values()}:
        cats[cid] = await _shown_category(session, cid)
    views = []
    for item_id in ids:
        item = items.get(item_id)
        if item is not None:
            category, props = cats[item.category_id]
            detail = _detail(item, category, shop, props)
            views.append(ItemView(detail, {p.id: p for p in props}))
    return views
