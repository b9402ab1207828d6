"""The storefront: home, search, item and shop pages. Reads only; every query is a service
call, and query parameters are read leniently (a bad one becomes a message, never a 500)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mercato.catalog import service as catalog
from mercato.catalog.schemas import CategoryNode, ItemDetail
from mercato.catalog.search import SearchQuery, search_items
from mercato.kit.errors import ValidationFailed
from mercato.kit.money import format_fen, parse_yuan
from mercato.shops import service as shops
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, current_user, db_of
from mercato.web.forms import int_param, page_param
from mercato.web.templating import page

router = APIRouter(dependencies=[Depends(csrf_protect)])

SORTS = ("relevance", "sales", "price_asc", "price_desc", "newest")
SEARCH_PAGE_SIZE = 20
SHOP_PAGE_SIZE = 20
HOME_ROW = 10


def find_path(nodes: list[CategoryNode], cid: int | None) -> list[CategoryNode]:
    """The nodes from a root down to category ``cid`` ([] when it is not in the tree)."""
    if cid is None:
        return []
    for node in nodes:
        if node.category.id == cid:
            return [node]
        below = find_path(node.children, cid)
        if below:
            return [node, *below]
    return []


@router.get("/")
async def home(request: Request) -> Response:
    async with db_of(request).read() as session:
        tree = await catalog.category_tree(session)
        featured = await search_items(session, SearchQuery(sort="sales", size=HOME_ROW))
        newest = await search_items(session, SearchQuery(sort="newest", size=HOME_ROW))
    return await page(
        request, "storefront/home.html", tree=tree, featured=featured.items, newest=newest.items
    )


def _price_filter(raw: str, field: str, problems: list[str]) -> int | None:
    if not raw.strip():
        return None
    try:
        return parse_yuan(raw, field)
    except ValidationFailed as exc:
        label = "最低价 min price" if field == "min" else "最高价 max price"
        problems.append(f"{label}: {exc.problems[0].message}")
        return None


def read_search(request: Request) -> tuple[dict[str, Any], list[str]]:
    """SearchQuery arguments from the query string, and sentences about the ones ignored."""
    params = request.query_params
    problems: list[str] = []
    price_min = _price_filter(params.get("min", ""), "min", problems)
    price_max = _price_filter(params.get("max", ""), "max", problems)
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    sort = params.get("sort", "relevance")
    if sort not in SORTS:
        problems.append(f"未知排序 unknown sort '{sort}'")
        sort = "relevance"
    for name in ("cat", "shop"):
        raw = params.get(name, "").strip()
        if raw and int_param(raw) is None:
            problems.append(f"'{raw}' is not a valid {name} id · 参数无效，已忽略")
    args: dict[str, Any] = {
        "q": params.get("q", "").strip()[:100],
        "category_id": int_param(params.get("cat")),
        "shop_id": int_param(params.get("shop")),
        "price_min": price_min,
        "price_max": price_max,
        "sort": sort,
        "page": page_param(request),
        "size": SEARCH_PAGE_SIZE,
    }
    return args, problems


@router.get("/search")
async def search(request: Request) -> Response:
    args, problems = read_search(request)
    async with db_of(request).read() as session:
        tree = await catalog.category_tree(session)
        results = await search_items(session, SearchQuery(**args))
    path = find_path(tree, args["category_id"])
    return await page(
        request,
        "storefront/search.html",
        results=results,
        args=args,
        problems=problems,
        tree=tree,
        path=path,
        subcats=path[-1].children if path else tree,
        price_min=format_fen(args["price_min"]) if args["price_min"] is not None else "",
        price_max=format_fen(args["price_max"]) if args["price_max"] is not None else "",
    )


def sku_data(detail: ItemDetail) -> dict[str, dict[str, Any]]:
    """What the SKU selector needs: "pid:vid;pid:vid" -> id, price and stock."""
    return {
        sku.properties: {
            "sku_id": sku.id,
            "price": format_fen(sku.price),
            "quantity": sku.quantity,
        }
        for sku in detail.skus
    }


@router.get("/item/{num_iid}")
async def item(request: Request, num_iid: PathId) -> Response:
    viewer = await current_user(request)
    async with db_of(request).read() as session:
        detail = await catalog.get_item_detail(session, num_iid, viewer=viewer)
    return await page(request, "storefront/item.html", d=detail, skus=sku_data(detail))


@router.get("/shop/{sid}")
async def shop(request: Request, sid: PathId) -> Response:
    shop_id, number = sid, page_param(request)
    async with db_of(request).read() as session:
        the_shop = await shops.get_shop(session, shop_id)
        cats = await shops.shop_category_tree(session, shop_id)
        results = await search_items(
            session, SearchQuery(shop_id=shop_id, sort="newest", page=number, size=SHOP_PAGE_SIZE)
        )
    return await page(request, "storefront/shop.html", shop=the_shop, cats=cats, results=results)
