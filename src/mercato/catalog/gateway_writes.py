"""TOP methods that change items, SKUs, stock and images.

Thin adapters (DESIGN.md rule 3): TOP's parameters become the catalog service's inputs, the
service holds every rule, and its field problems come back under TOP's parameter names
(``category_id`` → ``cid``, ``skus.0.price`` → ``sku_prices``), so a client reads
``isv.invalid-parameter:<the name it sent>``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Literal

from pydantic import Field

from mercato.catalog import service as catalog
from mercato.catalog.gateway import item_img_shape, item_shape, sku_shape
from mercato.catalog.images import validate_and_store_image
from mercato.catalog.schemas import ONSALE, ItemInput, SkuInput
from mercato.gateway import registry
from mercato.gateway.context import CallContext
from mercato.gateway.registry import TopParams
from mercato.kit.clock import utcnow
from mercato.kit.errors import FieldProblem, NotFound, ValidationFailed
from mercato.kit.storage import LocalStorage, Storage
from mercato.models import Item

PACKAGE = "items-write"

# Service field -> TOP parameter, per kind of method.
ITEM_NAMES: Mapping[str, str] = {
    "category_id": "cid",
    "quantity": "num",
    "description": "desc",
    "location_state": "location.state",
    "location_city": "location.city",
    "seller_cat_ids": "seller_cids",
    "props": "props",
    "input_props": "props",
    "image_keys": "image",
    "images": "image",
    "skus": "sku_properties",
    "skus.properties": "sku_properties",
    "skus.price": "sku_prices",
    "skus.quantity": "sku_quantities",
    "skus.outer_id": "sku_outer_ids",
}
SKU_NAMES: Mapping[str, str] = {
    "skus": "properties",
    "skus.properties": "properties",
    "skus.price": "price",
    "skus.quantity": "quantity",
    "skus.outer_id": "outer_id",
}
LISTING_NAMES: Mapping[str, str] = {"quantity": "num"}
IMAGE_NAMES: Mapping[str, str] = {"images": "image", "image_keys": "image"}


# ---------------------------------------------------------------- helpers


def media_storage(ctx: CallContext) -> Storage:
    """Where uploads go: the same storage ``create_app`` builds for the pages."""
    return LocalStorage(ctx.settings.media_dir, "/media")


def _store_upload(ctx: CallContext, storage: Storage) -> str | None:
    """The ``image`` file part, checked and stored; its key, or None when none was sent."""
    upload = ctx.files.get("image")
    if upload is None:
        return None
    return validate_and_store_image(
        storage,
        upload.data,
        max_bytes=ctx.settings.max_upload_bytes,
        max_pixels=ctx.settings.max_image_pixels,
    )


def _top_name(field: str, names: Mapping[str, str]) -> str:
    head, _, rest = field.partition(".")
    if head == "skus" and rest:  # skus.<i>.<field>
        sub = rest.partition(".")[2]
        return names.get(f"skus.{sub}", names.get("skus", field))
    return names.get(head, head)


@contextmanager
def top_names(names: Mapping[str, str]) -> Iterator[None]:
    """Report the service's field problems under TOP's parameter names."""
    try:
        yield
    except ValidationFailed as exc:
        problems = [
            FieldProblem(_top_name(p.field, names), p.rule, p.message) for p in exc.problems
        ]
        raise ValidationFailed(problems) from None


def _pairs(text: str, name: str) -> list[tuple[int, int]]:
    """``pid:vid;pid:vid`` as pairs; 41 on ``name`` when malformed."""
    pairs = []
    for part in text.split(";"):
        if not part.strip():
            continue
        pid, sep, vid = part.strip().partition(":")
        if not (sep and pid.isdigit() and vid.isdigit()):
            raise ValidationFailed.one(name, "format", "use pid:vid;pid:vid")
        pairs.append((int(pid), int(vid)))
    return pairs


async def _item_props(ctx: CallContext, text: str, cid: int) -> dict[int, list[int]]:
    """TOP's ``props`` as the service's {pid: [vids]}. TOP clients also list the SKUs'
    sale properties there; the SKUs carry those here, so they are left out."""
    props: dict[int, list[int]] = {}
    for pid, vid in _pairs(text, "props"):
        props.setdefault(pid, []).append(vid)
    try:
        category_props = await catalog.category_props(ctx.db_session, cid)
    except NotFound:  # the service reports the category itself (cid)
        return props
    sale = {p.id for p in category_props if p.is_sale_prop}
    return {pid: vids for pid, vids in props.items() if pid not in sale}


def _ids(text: str, name: str) -> list[int]:
    """A comma list of ids (``,1,2,`` as TOP spells seller_cids is fine too)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not all(p.isdigit() for p in parts):
        raise ValidationFailed.one(name, "format", "a comma-separated list of ids")
    return [int(p) for p in parts]


def _aligned(text: str | None, name: str, count: int) -> list[str] | None:
    if text is None:
        return None
    values = [v.strip() for v in text.split(",")]
    if len(values) != count:
        raise ValidationFailed.one(name, "count", f"give {count} values, one per SKU")
    return values


# ---------------------------------------------------------------- item.add / item.update


class ItemParams(TopParams):
    """The item fields item.add and item.update share; all optional here."""

    num: int | None = None
    price: str | None = None
    type: Literal["fixed"] | None = None
    stuff_status: Literal["new", "unused", "second"] | None = None
    title: str | None = None
    desc: str | None = None
    location_state: str | None = Field(default=None, alias="location.state")
    location_city: str | None = Field(default=None, alias="location.city")
    cid: int | None = None
    approve_status: Literal["onsale", "instock"] | None = None
    props: str | None = None
    sku_properties: str | None = None
    sku_quantities: str | None = None
    sku_prices: str | None = None
    sku_outer_ids: str | None = None
    outer_id: str | None = None
    seller_cids: str | None = None


class ItemAddParams(ItemParams):
    num: int
    price: str
    title: str
    desc: str
    location_state: str = Field(alias="location.state")
    location_city: str = Field(alias="location.city")
    cid: int


class ItemUpdateParams(ItemParams):
    num_iid: int


def _skus(params: ItemParams) -> list[SkuInput] | None:
    """The SKU lists (comma lists aligned by index) as SKU inputs; None when not given."""
    if params.sku_properties is None:
        for name in ("sku_quantities", "sku_prices", "sku_outer_ids"):
            if getattr(params, name) is not None:
                raise ValidationFailed.one("sku_properties", "missing", f"{name} needs it")
        return None
    properties = [p.strip() for p in params.sku_properties.split(",")]
    count = len(properties)
    quantities = _aligned(params.sku_quantities, "sku_quantities", count)
    prices = _aligned(params.sku_prices, "sku_prices", count)
    outer_ids = _aligned(params.sku_outer_ids, "sku_outer_ids", count) or [""] * count
    if quantities is None:
        raise ValidationFailed.one("sku_quantities", "missing", "one quantity per SKU")
    if prices is None:
        raise ValidationFailed.one("sku_prices", "missing", "one price per SKU")
    if not all(q.lstrip("-").isdigit() for q in quantities):
        raise ValidationFailed.one("sku_quantities", "format", "whole numbers")
    return [
        SkuInput(properties=p, price=price, quantity=int(q), outer_id=o or None)
        for p, price, q, o in zip(properties, prices, quantities, outer_ids, strict=True)
    ]


def _item_changes(params: ItemParams) -> dict[str, Any]:
    """The ItemInput fields the params set (props, SKUs and images aside)."""
    given = {
        "title": params.title,
        "category_id": params.cid,
        "price": params.price,
        "quantity": params.num,
        "description": params.desc,
        "location_state": params.location_state,
        "location_city": params.location_city,
        "outer_id": params.outer_id,
        "approve_status": params.approve_status,
    }
    changes: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    if params.seller_cids is not None:
        changes["seller_cat_ids"] = _ids(params.seller_cids, "seller_cids")
    skus = _skus(params)
    if skus is not None:
        changes["skus"] = skus
    return changes


def _pick(shape: Mapping[str, Any], *names: str) -> dict[str, Any]:
    """Some fields of a shared shape, with their ``*_str`` twins."""
    wanted = {*names, *(f"{n}_str" for n in names)}
    return {k: v for k, v in shape.items() if k in wanted}


def _stamp(item: Item, time_field: Literal["created", "modified"]) -> dict[str, Any]:
    """The minimal item TOP's write methods return: ``{num_iid, created|modified}``."""
    return _pick(item_shape(item), "num_iid", time_field)


@registry.method(
    "taobao.item.add",
    params=ItemAddParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item",),
    description="Publish an item in the seller's shop (on sale unless approve_status=instock).",
    example={"item": {"num_iid": 1001, "created": "2026-01-01 12:00:00"}},
)
async def item_add(ctx: CallContext, params: ItemAddParams) -> dict[str, Any]:
    seller, storage = ctx.session_user, media_storage(ctx)
    with top_names(ITEM_NAMES):
        changes = _item_changes(params)
        changes.setdefault("approve_status", ONSALE)  # TOP's default for item.add
        changes["props"] = await _item_props(ctx, params.props or "", params.cid)
        key = _store_upload(ctx, storage)
        changes["image_keys"] = [key] if key else []
        data = ItemInput.model_validate(changes)
        item = await catalog.create_item(ctx.db_session, seller, data, storage=storage)
    return {"item": _stamp(item, "created")}


@registry.method(
    "taobao.item.update",
    params=ItemUpdateParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item",),
    description="Change some fields of the seller's item; the others stay as they are.",
    example={"item": {"num_iid": 1001, "modified": "2026-01-01 12:00:00"}},
)
async def item_update(ctx: CallContext, params: ItemUpdateParams) -> dict[str, Any]:
    seller, storage, session = ctx.session_user, media_storage(ctx), ctx.db_session
    with top_names(ITEM_NAMES):
        detail = await catalog.get_own_item_detail(session, seller, params.num_iid)
        current = catalog.item_input_of(detail)
        changes = _item_changes(params)
        cid = params.cid or current.category_id
        if params.props is not None:
            changes["props"] = await _item_props(ctx, params.props, cid)
        elif cid != current.category_id:  # the old category's props do not apply
            changes["props"], changes["input_props"] = {}, {}
        key = _store_upload(ctx, storage)
        if key:  # TOP's image is the major picture: it replaces the first one
            changes["image_keys"] = [key, *current.image_keys[1:]]
        data = current.model_copy(update=changes)
        item = await catalog.update_item(session, seller, params.num_iid, data, storage=storage)
    return {"item": _stamp(item, "modified")}


# ---------------------------------------------------------------- delete, listing


class NumIidParams(TopParams):
    num_iid: int


class ListingParams(TopParams):
    num_iid: int
    num: int = Field(gt=0)


@registry.method(
    "taobao.item.delete",
    params=NumIidParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item",),
    description="Delete the seller's item (trades that refer to it keep it).",
    example={"item": {"num_iid": 1001, "created": "2026-01-01 12:00:00"}},
)
async def item_delete(ctx: CallContext, params: NumIidParams) -> dict[str, Any]:
    seller = ctx.session_user
    detail = await catalog.get_own_item_detail(ctx.db_session, seller, params.num_iid)
    await catalog.delete_item(ctx.db_session, seller, params.num_iid)
    return {"item": _stamp(detail.item, "created")}


@registry.method(
    "taobao.item.update.listing",
    params=ListingParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item",),
    description="Put the seller's item on sale with num in stock (an item with SKUs keeps "
    "the sum of its SKUs).",
    example={"item": {"num_iid": 1001, "modified": "2026-01-01 12:00:00"}},
)
async def item_update_listing(ctx: CallContext, params: ListingParams) -> dict[str, Any]:
    with top_names(LISTING_NAMES):
        item = await catalog.list_item(ctx.db_session, ctx.session_user, params.num_iid, params.num)
    return {"item": _stamp(item, "modified")}


@registry.method(
    "taobao.item.update.delisting",
    params=NumIidParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item",),
    description="Take the seller's item off sale (into the warehouse).",
    example={"item": {"num_iid": 1001, "modified": "2026-01-01 12:00:00"}},
)
async def item_update_delisting(ctx: CallContext, params: NumIidParams) -> dict[str, Any]:
    item = await catalog.set_listing(ctx.db_session, ctx.session_user, params.num_iid, False)
    return {"item": _stamp(item, "modified")}


# ---------------------------------------------------------------- stock


class QuantityParams(TopParams):
    num_iid: int
    quantity: int
    sku_id: int | None = None
    outer_id: str | None = None
    type: int = Field(default=1, ge=1, le=2, description="1 full (default), 2 delta")


@registry.method(
    "taobao.item.quantity.update",
    params=QuantityParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item",),
    lists={"skus": "sku"},
    description="Set (type=1) or change by (type=2) the stock of an item or one of its SKUs; "
    "records taobao_item_ItemStockChanged.",
    example={"item": {"num_iid": 1001, "num": 20, "modified": "2026-01-01 12:00:00"}},
)
async def item_quantity_update(ctx: CallContext, params: QuantityParams) -> dict[str, Any]:
    with top_names({}):
        item, sku = await catalog.set_stock(
            ctx.db_session,
            ctx.session_user,
            params.num_iid,
            params.quantity,
            sku_id=params.sku_id,
            sku_outer_id=params.outer_id,
            delta=params.type == 2,
        )
    out = _pick(item_shape(item), "num_iid", "num", "modified")
    if sku is not None:
        out["skus"] = [_pick(sku_shape(sku), "sku_id", "num_iid", "quantity", "modified")]
    return {"item": out}


# ---------------------------------------------------------------- SKUs


class SkuAddParams(TopParams):
    num_iid: int
    properties: str
    quantity: int
    price: str
    outer_id: str | None = None


class SkuUpdateParams(TopParams):
    num_iid: int
    properties: str
    quantity: int | None = None
    price: str | None = None
    outer_id: str | None = None


@registry.method(
    "taobao.item.sku.add",
    params=SkuAddParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("sku",),
    description="Add a SKU (one combination of sale properties) to the seller's item.",
    example={"sku": {"sku_id": 5001, "created": "2026-01-01 12:00:00"}},
)
async def item_sku_add(ctx: CallContext, params: SkuAddParams) -> dict[str, Any]:
    data = SkuInput(
        properties=params.properties,
        price=params.price,
        quantity=params.quantity,
        outer_id=params.outer_id,
    )
    with top_names(SKU_NAMES):
        sku = await catalog.add_sku(ctx.db_session, ctx.session_user, params.num_iid, data)
    return {"sku": _pick(sku_shape(sku), "sku_id", "created")}


@registry.method(
    "taobao.item.sku.update",
    params=SkuUpdateParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("sku",),
    description="Change the price, stock or outer id of one SKU of the seller's item.",
    example={"sku": {"sku_id": 5001, "modified": "2026-01-01 12:00:00"}},
)
async def item_sku_update(ctx: CallContext, params: SkuUpdateParams) -> dict[str, Any]:
    with top_names(SKU_NAMES):
        sku = await catalog.update_sku(
            ctx.db_session,
            ctx.session_user,
            params.num_iid,
            params.properties,
            price=params.price,
            quantity=params.quantity,
            outer_id=params.outer_id,
        )
    return {"sku": _pick(sku_shape(sku), "sku_id", "modified")}


# ---------------------------------------------------------------- images


class ImgUploadParams(TopParams):
    num_iid: int
    is_major: bool = False
    position: int | None = Field(default=None, ge=0)
    id: int | None = None


@registry.method(
    "taobao.item.img.upload",
    params=ImgUploadParams,
    package=PACKAGE,
    session=True,
    role="seller",
    write=True,
    fields=("item_img",),
    description="Add an image (the image file part) to the seller's item, or with id "
    "replace or move one; is_major makes it the list picture.",
    example={"item_img": {"id": 7, "url": "/media/items/ab/cd.png", "position": 1}},
)
async def item_img_upload(ctx: CallContext, params: ImgUploadParams) -> dict[str, Any]:
    seller, storage, session = ctx.session_user, media_storage(ctx), ctx.db_session
    with top_names(IMAGE_NAMES):
        await catalog.get_own_item_detail(session, seller, params.num_iid)  # before storing
        key = _store_upload(ctx, storage)
        image = await catalog.put_item_image(
            session,
            seller,
            params.num_iid,
            key,
            image_id=params.id,
            position=params.position,
            major=params.is_major,
            storage=storage,
        )
    return {"item_img": {**item_img_shape(image), "created": utcnow()}}
