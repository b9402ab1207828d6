"""TOP methods of the shops domain (registered with mercato.gateway.registry): the shop and
the seller's own categories (TOP-PROTOCOL.md §9.4)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError

from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.registry import TopParams
from mercato.kit.errors import FieldProblem, ValidationFailed, problems_from_pydantic
from mercato.models import Shop, ShopCategory
from mercato.shops import service
from mercato.shops.schemas import ShopCategoryInput, ShopInput

# Service field names that TOP spells differently.
TOP_NAMES = {"description": "desc", "parent_id": "parent_cid", "pic_url": "pict_url"}
SHOP_GET_DEFAULT_FIELDS = "sid,nick,title,desc,bulletin,pic_path,created,modified"
SELLER_CAT_FIELDS = "cid,parent_cid,name,pic_url,sort_order,type"
SELLER_CAT_TYPE = "manual_type"  # Mercato's seller categories are all made by hand


def shop_shape(shop: Shop, nick: str) -> dict[str, Any]:
    """A Shop (§9.4) as anyone may see it."""
    return envelope.with_str_twins(
        {
            "sid": shop.id,
            "nick": nick,
            "title": shop.title,
            "desc": shop.description,
            "bulletin": shop.bulletin,
            "pic_path": shop.logo_key,
            "created": shop.created_at,
            "modified": shop.modified_at,
        },
        "sid",
    )


def seller_cat_shape(category: ShopCategory) -> dict[str, Any]:
    """A SellerCat (§9.4); ``parent_cid`` 0 is the top level."""
    return {
        "cid": category.id,
        "parent_cid": category.parent_id or 0,
        "name": category.name,
        "pic_url": category.pic_url,
        "sort_order": category.sort_order,
        "type": SELLER_CAT_TYPE,
        "created": category.created_at,
        "modified": category.modified_at,
    }


def _top_problems(exc: ValidationFailed) -> ValidationFailed:
    """The service's problems under TOP's parameter names."""
    return ValidationFailed(
        [FieldProblem(TOP_NAMES.get(p.field, p.field), p.rule, p.message) for p in exc.problems]
    )


class FieldsParams(TopParams):
    fields: str | None = None


class ShopGetParams(TopParams):
    nick: str
    fields: str | None = None


class ShopUpdateParams(TopParams):
    title: str | None = None
    bulletin: str | None = None
    desc: str | None = None


class SellercatsGetParams(TopParams):
    nick: str
    fields: str | None = None


class SellercatsAddParams(TopParams):
    name: str
    parent_cid: int | None = Field(default=None, ge=0)
    pict_url: str | None = None
    sort_order: int | None = None


@registry.method(
    "taobao.shop.seller.get",
    params=FieldsParams,
    package="shops",
    session=True,
    role="seller",
    fields=("shop",),
    description="The authorizing seller's shop: sid, title, pic_path, desc, bulletin, "
    "created, modified (and nick). fields is required.",
    example={"shop": {"sid": 3, "title": "Alice's shop"}},
)
async def shop_seller_get(ctx: CallContext, params: FieldsParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields)
    seller = ctx.session_user
    shop = await service.my_shop(ctx.db_session, seller)
    return {"shop": selection.apply(shop_shape(shop, seller.nick))}


@registry.method(
    "taobao.shop.get",
    params=ShopGetParams,
    package="shops",
    fields=("shop",),
    description="A seller's open shop by the seller's nick (legacy; no session): sid, nick, "
    f"title, desc, bulletin, pic_path, created, modified. fields defaults to "
    f"{SHOP_GET_DEFAULT_FIELDS}.",
    example={"shop": {"sid": 3, "nick": "alice", "title": "Alice's shop"}},
)
async def shop_get(ctx: CallContext, params: ShopGetParams) -> dict[str, Any]:
    selection = envelope.parse_fields(params.fields or SHOP_GET_DEFAULT_FIELDS)
    shop, seller = await service.shop_of_nick(ctx.db_session, params.nick)
    return {"shop": selection.apply(shop_shape(shop, seller.nick))}


@registry.method(
    "taobao.shop.update",
    params=ShopUpdateParams,
    package="shops",
    session=True,
    role="seller",
    write=True,
    fields=("shop",),
    description="Change the shop's title, bulletin and/or desc (at least one); the others "
    "keep their values. Returns shop{sid, modified}.",
    example={"shop": {"sid": 3, "modified": "2026-01-01 12:00:00"}},
)
async def shop_update(ctx: CallContext, params: ShopUpdateParams) -> dict[str, Any]:
    if params.title is None and params.bulletin is None and params.desc is None:
        raise ValidationFailed.one("title", "missing", "give title, bulletin or desc")
    seller = ctx.session_user
    shop = await service.my_shop(ctx.db_session, seller)
    try:
        data = ShopInput(
            title=shop.title if params.title is None else params.title,
            description=shop.description if params.desc is None else params.desc,
            bulletin=shop.bulletin if params.bulletin is None else params.bulletin,
        )
    except ValidationError as exc:
        raise _top_problems(problems_from_pydantic(exc)) from None
    shop = await service.update_shop(ctx.db_session, seller, data)
    return {"shop": {"sid": shop.id, "modified": shop.modified_at}}


@registry.method(
    "taobao.sellercats.list.get",
    params=SellercatsGetParams,
    package="shops",
    fields=("seller_cats",),
    lists={"seller_cats": "seller_cat"},
    description="The seller categories of the shop of the seller with this nick (no "
    "session), each top-level category followed by its children. fields defaults to "
    f"{SELLER_CAT_FIELDS}.",
    example={"seller_cats": [{"cid": 5, "parent_cid": 0, "name": "新品", "type": "manual_type"}]},
)
async def sellercats_list_get(ctx: CallContext, params: SellercatsGetParams) -> dict[str, Any]:
    selection = envelope.parse_fields(params.fields or SELLER_CAT_FIELDS)
    shop, _ = await service.shop_of_nick(ctx.db_session, params.nick)
    cats: list[dict[str, Any]] = []
    for root in await service.shop_category_tree(ctx.db_session, shop.id):
        cats.append(selection.apply(seller_cat_shape(root.category)))
        cats.extend(selection.apply(seller_cat_shape(c.category)) for c in root.children)
    return {"seller_cats": cats or None}  # TOP leaves an empty list out


@registry.method(
    "taobao.sellercats.list.add",
    params=SellercatsAddParams,
    package="shops",
    session=True,
    role="seller",
    write=True,
    fields=("seller_cat",),
    description="Add a seller category (name required; parent_cid 0 or absent for the top "
    "level; two levels deep). Returns seller_cat{cid, created}.",
    example={"seller_cat": {"cid": 5, "created": "2026-01-01 12:00:00"}},
)
async def sellercats_list_add(ctx: CallContext, params: SellercatsAddParams) -> dict[str, Any]:
    try:
        data = ShopCategoryInput(
            name=params.name,
            parent_id=params.parent_cid or None,
            sort_order=params.sort_order or 0,
        )
        category = await service.add_shop_category(
            ctx.db_session, ctx.session_user, data, pic_url=params.pict_url
        )
    except ValidationError as exc:
        raise _top_problems(problems_from_pydantic(exc)) from None
    except ValidationFailed as exc:
        raise _top_problems(exc) from None
    return {"seller_cat": {"cid": category.id, "created": category.created_at}}
