"""TOP methods of the catalog domain that read (registered with
mercato.gateway.registry): categories and their props, and the seller's own items and SKUs
(TOP-PROTOCOL.md §9.3, §9.7, §10). The methods that change items live in
``gateway_writes.py`` and reuse ``item_shape`` and ``sku_shape`` from here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field
from sqlalchemy.orm.attributes import instance_state

from mercato.catalog import service
from mercato.catalog.repository import SellerItemFilter
from mercato.catalog.schemas import INSTOCK, ONSALE
from mercato.catalog.service import ItemView
from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.params import top_time
from mercato.gateway.registry import TopParams
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.kit.pagination import PageRequest
from mercato.models import Category, Item, ItemImage, ItemProp, Sku

# Lists inside an item, for ``fields`` (naming ``sku`` selects ``skus``) and for wrapping.
ITEM_LISTS = {"skus": "sku", "item_imgs": "item_img"}
# The item children (catalog repository ITEM_PARTS) that each Item field is made from: a
# read loads only those its ``fields`` ask for.
FIELD_PARTS = {
    "skus": "skus",
    "item_imgs": "images",
    "props": "prop_values",
    "props_name": "prop_values",
    "input_pids": "prop_values",
    "input_str": "prop_values",
    "seller_cids": "seller_cats",
}
SKU_PARTS = frozenset({"skus"})
MAX_ITEM_PAGE_SIZE = 200
MAX_ITEM_ROWS = 100_000  # page_no * page_size, as TOP limits items.onsale.get
MAX_TERMS = 10
MAX_SELLER_LIST_IIDS = 20
MAX_SKUS_IIDS = 40
MAX_CIDS = 1000
# TOP's order_by names -> Item columns.
ORDER_BY = {
    "list_time": "list_time",
    "delist_time": "delist_time",
    "num": "quantity",
    "modified": "modified_at",
    "sold_quantity": "sold_quantity",
}
# taobao.items.inventory.get ``banner`` -> (sold out?, ever listed?); None: matches nothing
# in Mercato (no scheduled listing, no takedowns for violations).
BANNERS: dict[str, tuple[bool | None, bool | None] | None] = {
    "for_shelved": (None, None),
    "sold_out": (True, None),
    "never_on_shelf": (None, False),
    "off_shelf": (None, True),
    "regular_shelved": None,
    "violation_off_shelf": None,
}
ITEMCAT_DEFAULT_FIELDS = "cid,parent_cid,name,is_parent"
ITEMPROP_DEFAULT_FIELDS = "pid,name,must,multi,prop_values"


# ---------------------------------------------------------------- shapes


def _top_name(text: str) -> str:
    """A name inside ``props_name``: TOP escapes its separators."""
    return text.replace(":", "#cln#").replace(";", "#scln#")


def _names(pairs: list[tuple[int, int]], props: Mapping[int, ItemProp]) -> str:
    """``pid:vid:pname:vname;…`` for the pairs whose prop and value are known."""
    parts = []
    for pid, vid in pairs:
        prop = props.get(pid)
        value = next((v for v in prop.values if v.id == vid), None) if prop else None
        if prop is not None and value is not None:
            parts.append(f"{pid}:{vid}:{_top_name(prop.name)}:{_top_name(value.name)}")
    return ";".join(parts)


def _nonempty(rows: list[Any]) -> list[Any] | None:
    """TOP leaves an empty list out of the response, wrapper and all."""
    return rows or None


def _loaded(item: Item | Sku, name: str) -> bool:
    return name not in instance_state(item).unloaded


def sku_shape(sku: Sku, props: Mapping[int, ItemProp] | None = None) -> dict[str, Any]:
    """A Sku (§9.3). ``props`` (the category's props by id) adds ``properties_name``."""
    shape: dict[str, Any] = {
        "sku_id": sku.id,
        "num_iid": sku.item_id,
        "properties": sku.properties,
        "quantity": sku.quantity,
        "price": envelope.Fen(sku.price),
        "outer_id": sku.outer_id,
        "barcode": sku.barcode,
        "created": sku.created_at,
        "modified": sku.modified_at,
        "status": sku.status,
    }
    if props is not None:
        pairs = service.parse_properties(sku.properties) or {}
        shape["properties_name"] = _names(list(pairs.items()), props)
    return envelope.with_str_twins(shape, "sku_id", "num_iid")


def item_img_shape(image: ItemImage) -> dict[str, Any]:
    """An item image (§9.3 ``item_imgs.item_img``)."""
    return {"id": image.id, "url": image.url, "position": image.position}


def item_shape(item: Item, nick: str | None = None, view: ItemView | None = None) -> dict[str, Any]:
    """An Item (§9.3) with whatever of it is loaded: the columns always; ``desc``, props,
    ``seller_cids``, ``item_imgs`` and ``skus`` when those were loaded; ``props_name`` and
    SKU ``properties_name`` when ``view`` (the item's complete view) is given."""
    shape: dict[str, Any] = {
        "num_iid": item.id,
        "title": item.title,
        "nick": nick,
        "type": "fixed",
        "cid": item.category_id,
        "pic_url": item.pic_url,
        "num": item.quantity,
        "price": envelope.Fen(item.price),
        "approve_status": item.approve_status,
        "list_time": item.list_time,
        "delist_time": item.delist_time,
        "created": item.created_at,
        "modified": item.modified_at,
        "outer_id": item.outer_id,
        "sold_quantity": item.sold_quantity,
        "location": {"state": item.location_state, "city": item.location_city},
    }
    if _loaded(item, "description"):
        shape["desc"] = item.description
    if _loaded(item, "seller_cats"):
        shape["seller_cids"] = ",".join(str(c.shop_category_id) for c in item.seller_cats) or None
    if _loaded(item, "prop_values"):
        chosen = [(v.prop_id, v.value_id) for v in item.prop_values if v.value_id is not None]
        texts = [v for v in item.prop_values if v.value_id is None and v.text is not None]
        shape["props"] = ";".join(f"{pid}:{vid}" for pid, vid in chosen) or None
        shape["input_pids"] = ",".join(str(v.prop_id) for v in texts) or None
        shape["input_str"] = ",".join(v.text or "" for v in texts) or None
        if view is not None:
            shape["props_name"] = _names(chosen, view.props) or None
    if view is not None:
        shape["item_imgs"] = _nonempty([item_img_shape(img) for img in view.detail.images])
        shape["skus"] = _nonempty([sku_shape(sku, view.props) for sku in view.detail.skus])
    else:
        if _loaded(item, "images"):
            shape["item_imgs"] = _nonempty(
                [{"id": img.id, "url": img.url, "position": img.position} for img in item.images]
            )
        if _loaded(item, "skus"):
            skus = [sku_shape(sku) for sku in item.skus if sku.status == "normal"]
            shape["skus"] = _nonempty(skus)
    return envelope.with_str_twins(shape, "num_iid")


def item_cat_shape(category: Category) -> dict[str, Any]:
    """An ItemCat (§9.7); ``parent_cid`` 0 is the root."""
    return {
        "cid": category.id,
        "parent_cid": category.parent_id or 0,
        "name": category.name,
        "is_parent": category.is_parent,
        "status": category.status,
        "sort_order": category.sort_order,
    }


def item_prop_shape(prop: ItemProp, cid: int) -> dict[str, Any]:
    """An ItemProp (§9.7) with its values; Mercato's props are flat (no parent prop)."""
    return {
        "pid": prop.id,
        "name": prop.name,
        "is_key_prop": prop.is_key_prop,
        "is_sale_prop": prop.is_sale_prop,
        "is_color_prop": prop.is_color_prop,
        "is_enum_prop": prop.is_enum_prop,
        "is_input_prop": prop.is_input_prop,
        "is_item_prop": not prop.is_sale_prop,
        "must": prop.must,
        "multi": prop.multi,
        "parent_pid": 0,
        "parent_vid": 0,
        "status": "normal",
        "sort_order": prop.sort_order,
        "prop_values": _nonempty(
            [
                {
                    "cid": cid,
                    "pid": prop.id,
                    "prop_name": prop.name,
                    "vid": value.id,
                    "name": value.name,
                    "is_parent": False,
                    "status": "normal",
                    "sort_order": value.sort_order,
                }
                for value in prop.values
            ]
        ),
    }


# ---------------------------------------------------------------- parameters


def _ids(name: str, raw: str, limit: int) -> list[int]:
    """A comma list of positive ids (``num_iids=1,2``): 41 when malformed or too long."""
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    if not parts:
        raise ValidationFailed.one(name, "missing", f"{name} is required")
    if not all(p.isascii() and p.isdigit() and int(p) > 0 for p in parts):
        raise ValidationFailed.one(name, "id_list", "a comma-separated list of ids")
    if len(parts) > limit:
        raise ValidationFailed.one(name, "max_count", f"at most {limit} ids")
    return [int(p) for p in parts]


def _order_by(raw: str | None) -> tuple[str, bool]:
    """``list_time:desc`` -> (column, descending); the default is list_time, newest first."""
    if raw is None:
        return "list_time", True
    name, _, direction = raw.strip().partition(":")
    if name not in ORDER_BY or direction not in ("", "asc", "desc"):
        raise ValidationFailed.one("order_by", "choice", "e.g. list_time:desc")
    return ORDER_BY[name], direction != "asc"


class ItemListParams(TopParams):
    fields: str | None = None
    q: str | None = None
    cid: int | None = Field(default=None, ge=1)
    seller_cids: str | None = None
    page_no: int | None = None
    page_size: int | None = None
    order_by: str | None = None
    start_modified: str | None = None
    end_modified: str | None = None
    # Accepted for compatibility; Mercato has no discounts, showcases, CSPU or combined items.
    has_discount: bool | None = None
    has_showcase: bool | None = None
    is_taobao: bool | None = None
    is_ex: bool | None = None
    is_cspu: bool | None = None
    is_combine: bool | None = None
    auction_type: str | None = None


class InventoryParams(ItemListParams):
    banner: str | None = None


class NumIidsParams(TopParams):
    fields: str | None = None
    num_iids: str


class ItemGetParams(TopParams):
    fields: str | None = None
    num_iid: int = Field(ge=1)


class SkuGetParams(TopParams):
    fields: str | None = None
    sku_id: int = Field(ge=1)
    num_iid: int = Field(ge=1)
    nick: str | None = None  # accepted: the session names the seller


class ItemcatsParams(TopParams):
    cids: str | None = None
    parent_cid: int | None = Field(default=None, ge=0)
    fields: str | None = None


class ItempropsParams(TopParams):
    cid: int = Field(ge=1)
    fields: str | None = None
    pid: int | None = Field(default=None, ge=1)
    parent_pid: int | None = Field(default=None, ge=0)
    is_key_prop: bool | None = None
    is_sale_prop: bool | None = None
    is_color_prop: bool | None = None
    is_enum_prop: bool | None = None
    is_input_prop: bool | None = None
    is_item_prop: bool | None = None


# ---------------------------------------------------------------- item lists


async def _item_list(
    ctx: CallContext, params: ItemListParams, status: str, banner: str | None = None
) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, ITEM_LISTS)
    paging = envelope.paging(params.page_no, params.page_size, max_page_size=MAX_ITEM_PAGE_SIZE)
    if paging.page_no * paging.page_size > MAX_ITEM_ROWS:
        raise ValidationFailed.one("page_no", "max_rows", f"at most {MAX_ITEM_ROWS} items deep")
    if banner is not None and banner not in BANNERS:
        raise ValidationFailed.one("banner", "choice", "not a known banner")
    banner_filter = BANNERS[banner] if banner is not None else (None, None)
    column, descending = _order_by(params.order_by)
    zone = ctx.settings.zone
    filters = SellerItemFilter(
        approve_status=status,
        terms=tuple((params.q or "").split()[:MAX_TERMS]),
        category_id=params.cid,
        seller_cat_ids=tuple(_ids("seller_cids", params.seller_cids, 1000))
        if params.seller_cids
        else (),
        start_modified=top_time(params.start_modified, "start_modified", zone),
        end_modified=top_time(params.end_modified, "end_modified", zone),
        sold_out=banner_filter[0] if banner_filter else None,
        ever_listed=banner_filter[1] if banner_filter else None,
        order_by=column,
        descending=descending,
    )
    if banner_filter is None:  # a banner no Mercato item can be under
        return {"total_results": 0}
    seller = ctx.session_user
    page = await service.filter_seller_items(
        ctx.db_session, seller, filters, PageRequest(paging.page_no, paging.page_size)
    )
    items = [selection.apply(item_shape(item, seller.nick)) for item in page.items]
    return {"total_results": page.total, "items": _nonempty(items)}


_LIST_DOC = (
    "fields is required (Item fields; desc, skus and item_imgs are not in lists). Filters: "
    "q (title terms), cid (the category's subtree), seller_cids, start_modified, "
    "end_modified; order_by list_time|delist_time|num|modified|sold_quantity[:asc|:desc] "
    "(default list_time:desc); page_no, page_size (default 40, at most 200)."
)


@registry.method(
    "taobao.items.onsale.get",
    params=ItemListParams,
    package="items-read",
    session=True,
    role="seller",
    fields=("total_results", "items"),
    lists={"items": "item", **ITEM_LISTS},
    max_page_size=MAX_ITEM_PAGE_SIZE,
    description="The authorizing seller's items on sale. " + _LIST_DOC,
    example={"total_results": 1, "items": [{"num_iid": 1, "title": "碎花连衣裙"}]},
)
async def items_onsale_get(ctx: CallContext, params: ItemListParams) -> dict[str, Any]:
    return await _item_list(ctx, params, ONSALE)


@registry.method(
    "taobao.items.inventory.get",
    params=InventoryParams,
    package="items-read",
    session=True,
    role="seller",
    fields=("total_results", "items"),
    lists={"items": "item", **ITEM_LISTS},
    max_page_size=MAX_ITEM_PAGE_SIZE,
    description="The authorizing seller's items in stock (not on sale). "
    + _LIST_DOC
    + " banner: for_shelved (all), sold_out, never_on_shelf, off_shelf; regular_shelved "
    "and violation_off_shelf match nothing.",
    example={"total_results": 1, "items": [{"num_iid": 2, "approve_status": "instock"}]},
)
async def items_inventory_get(ctx: CallContext, params: InventoryParams) -> dict[str, Any]:
    return await _item_list(ctx, params, INSTOCK, params.banner)


# ---------------------------------------------------------------- single items and SKUs


@registry.method(
    "taobao.items.seller.list.get",
    params=NumIidsParams,
    package="items-read",
    session=True,
    role="seller",
    fields=("items",),
    lists={"items": "item", **ITEM_LISTS},
    description="The authorizing seller's own items among num_iids (at most 20), complete "
    "(desc, props_name, skus, item_imgs); other ids are left out. fields is required.",
    example={"items": [{"num_iid": 1, "title": "碎花连衣裙"}]},
)
async def items_seller_list_get(ctx: CallContext, params: NumIidsParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, ITEM_LISTS)
    ids = _ids("num_iids", params.num_iids, MAX_SELLER_LIST_IIDS)
    seller = ctx.session_user
    views = await service.get_own_item_views(ctx.db_session, seller, ids, _parts(selection))
    items = [selection.apply(item_shape(v.detail.item, seller.nick, v)) for v in views]
    return {"items": _nonempty(items)}


def _parts(selection: envelope.FieldSelection) -> frozenset[str]:
    return frozenset(part for field, part in FIELD_PARTS.items() if selection.wants(field))


async def _own_view(ctx: CallContext, num_iid: int, parts: frozenset[str]) -> ItemView:
    views = await service.get_own_item_views(ctx.db_session, ctx.session_user, [num_iid], parts)
    if not views:
        raise NotFound(f"item {num_iid} does not exist", code="item_not_found")
    return views[0]


@registry.method(
    "taobao.item.seller.get",
    params=ItemGetParams,
    package="items-read",
    session=True,
    role="seller",
    fields=("item",),
    lists=ITEM_LISTS,
    description="One of the authorizing seller's items, complete: skus.sku[], "
    "item_imgs.item_img[], props_name, location{state,city}, desc. fields is required.",
    example={"item": {"num_iid": 1, "title": "碎花连衣裙", "skus": [{"sku_id": 9}]}},
)
async def item_seller_get(ctx: CallContext, params: ItemGetParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, ITEM_LISTS)
    view = await _own_view(ctx, params.num_iid, _parts(selection))
    return {"item": selection.apply(item_shape(view.detail.item, ctx.session_user.nick, view))}


@registry.method(
    "taobao.item.skus.get",
    params=NumIidsParams,
    package="items-read",
    session=True,
    role="seller",
    fields=("skus",),
    lists={"skus": "sku"},
    description="The SKUs (status normal) of the authorizing seller's own items among "
    "num_iids (at most 40). fields is required.",
    example={"skus": [{"sku_id": 9, "num_iid": 1, "properties": "1:2;3:4"}]},
)
async def item_skus_get(ctx: CallContext, params: NumIidsParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields)
    ids = _ids("num_iids", params.num_iids, MAX_SKUS_IIDS)
    views = await service.get_own_item_views(ctx.db_session, ctx.session_user, ids, SKU_PARTS)
    skus = [selection.apply(sku_shape(s, v.props)) for v in views for s in v.detail.skus]
    return {"skus": _nonempty(skus)}


@registry.method(
    "taobao.item.sku.get",
    params=SkuGetParams,
    package="items-read",
    session=True,
    role="seller",
    fields=("sku",),
    description="One SKU (status normal) of one of the authorizing seller's items. fields "
    "defaults to every Sku field.",
    example={"sku": {"sku_id": 9, "num_iid": 1, "price": "10.00"}},
)
async def item_sku_get(ctx: CallContext, params: SkuGetParams) -> dict[str, Any]:
    view = await _own_view(ctx, params.num_iid, SKU_PARTS)
    sku = next((s for s in view.detail.skus if s.id == params.sku_id), None)
    if sku is None:
        raise NotFound(f"sku {params.sku_id} does not exist", code="sku_not_found")
    shape = sku_shape(sku, view.props)
    selection = envelope.parse_fields(params.fields) if params.fields else None
    return {"sku": selection.apply(shape) if selection else shape}


# ---------------------------------------------------------------- categories and props


@registry.method(
    "taobao.itemcats.get",
    params=ItemcatsParams,
    package="items-read",
    fields=("item_cats",),
    lists={"item_cats": "item_cat"},
    description="Platform categories: those named by cids (comma list), or the children of "
    "parent_cid (0: the roots); one of the two is required. Closed categories and their "
    f"subtrees are left out. fields defaults to {ITEMCAT_DEFAULT_FIELDS}.",
    example={"item_cats": [{"cid": 1, "parent_cid": 0, "name": "女装", "is_parent": True}]},
)
async def itemcats_get(ctx: CallContext, params: ItemcatsParams) -> dict[str, Any]:
    if params.cids is None and params.parent_cid is None:
        raise ValidationFailed.one("cids", "missing", "give cids or parent_cid")
    selection = envelope.parse_fields(params.fields or ITEMCAT_DEFAULT_FIELDS)
    cids = _ids("cids", params.cids, MAX_CIDS) if params.cids is not None else None
    found: list[Category] = []
    stack = list(await service.category_tree(ctx.db_session))
    while stack:  # every open category, parents before children, in display order
        node = stack.pop(0)
        found.append(node.category)
        stack[:0] = node.children
    if cids is not None:
        by_id = {c.id: c for c in found}
        found = [by_id[cid] for cid in dict.fromkeys(cids) if cid in by_id]
    if params.parent_cid is not None:
        found = [c for c in found if (c.parent_id or 0) == params.parent_cid]
    return {"item_cats": _nonempty([selection.apply(item_cat_shape(c)) for c in found])}


@registry.method(
    "taobao.itemprops.get",
    params=ItempropsParams,
    package="items-read",
    fields=("item_props",),
    lists={"item_props": "item_prop", "prop_values": "prop_value"},
    description="The props of category cid with their values, filtered by pid and the "
    "is_key_prop / is_sale_prop / is_color_prop / is_enum_prop / is_input_prop / "
    f"is_item_prop flags. fields defaults to {ITEMPROP_DEFAULT_FIELDS}.",
    example={"item_props": [{"pid": 5, "name": "颜色", "prop_values": [{"vid": 7}]}]},
)
async def itemprops_get(ctx: CallContext, params: ItempropsParams) -> dict[str, Any]:
    selection = envelope.parse_fields(
        params.fields or ITEMPROP_DEFAULT_FIELDS, {"prop_values": "prop_value"}
    )
    props = await service.category_props(ctx.db_session, params.cid)
    shapes = [item_prop_shape(p, params.cid) for p in props]
    wanted: dict[str, Any] = {
        "pid": params.pid,
        "parent_pid": params.parent_pid,
        "is_key_prop": params.is_key_prop,
        "is_sale_prop": params.is_sale_prop,
        "is_color_prop": params.is_color_prop,
        "is_enum_prop": params.is_enum_prop,
        "is_input_prop": params.is_input_prop,
        "is_item_prop": params.is_item_prop,
    }
    shapes = [s for s in shapes if all(v is None or s[k] == v for k, v in wanted.items())]
    return {"item_props": _nonempty([selection.apply(s) for s in shapes])}
