"""The seller workbench: open a shop, edit it and its categories, list and edit items.

Pages only adapt: they read the form, call one service, and show its problems inline. Item
images are stored before the write unit of work opens, so the transaction never waits on
file I/O, and the form keeps what was stored if the item is then refused.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData, UploadFile

from mercato.catalog import service as catalog
from mercato.catalog.images import validate_and_store_image
from mercato.catalog.schemas import INSTOCK, ONSALE, ItemDetail, ItemInput
from mercato.kit.errors import FieldProblem, NotFound, ValidationFailed, problems_from_pydantic
from mercato.kit.money import format_fen
from mercato.kit.pagination import PageRequest
from mercato.models import Category, ItemProp, User
from mercato.shops import service as shops
from mercato.shops.schemas import ShopCategoryInput, ShopInput
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, db_of, require_seller, require_user, settings_of, storage_of
from mercato.web.forms import form_dict, page_param, parse, safe_next
from mercato.web.templating import page

router = APIRouter(prefix="/seller", dependencies=[Depends(csrf_protect)])

ITEMS_PAGE_SIZE = 20
NOTICES = {
    "opened": "店铺已开通，开始发布宝贝吧 · Your shop is open: list your first item.",
    "saved": "宝贝已保存 · Item saved.",
    "listed": "已上架 · Item is on sale.",
    "delisted": "已下架 · Item taken off sale.",
    "deleted": "已删除 · Item deleted.",
    "shop_saved": "店铺设置已保存 · Shop settings saved.",
    "cat_saved": "分类已保存 · Category saved.",
    "cat_deleted": "分类已删除 · Category deleted.",
}
# Item form fields shown next to their inputs; other problems go to the banner.
ITEM_FIELDS = {
    "title",
    "price",
    "quantity",
    "outer_id",
    "location_state",
    "location_city",
    "approve_status",
    "description",
    "seller_cat_ids",
    "images",
    "skus",
}
_SKU_FIELD = re.compile(r"^skus(?:\.(\d+)|\[(\d+)\])\.(\w+)$")
_IMAGE_FIELD = re.compile(r"^image_keys(?:\.\d+|\[\d+\])?$")
_PROP_FIELD = re.compile(r"^(props|input_props)(?:\.(\d+)|\[(\d+)\])$")


def _notice(request: Request) -> str | None:
    return NOTICES.get(request.query_params.get("msg", ""))


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------- open a shop


@router.get("/shop/open")
async def open_shop_form(request: Request, user: User = Depends(require_user)) -> Response:
    if await _has_shop(request, user):
        return _redirect("/seller")
    return await page(request, "seller/open_shop.html", form={}, errors={})


@router.post("/shop/open")
async def open_shop(request: Request, user: User = Depends(require_user)) -> Response:
    form = await form_dict(request)
    try:
        data = parse(ShopInput, form)
        async with db_of(request).write() as session:
            # The signed-in user was read in another unit; merge it so the seller role
            # granted here is saved with the shop.
            seller = await session.merge(user)
            await shops.open_shop(session, seller, data)
    except ValidationFailed as exc:
        errors = exc.by_field()
        return await page(request, "seller/open_shop.html", 422, form=form, errors=errors)
    return _redirect("/seller?msg=opened")


async def _has_shop(request: Request, user: User) -> bool:
    try:
        async with db_of(request).read() as session:
            await shops.my_shop(session, user)
    except NotFound:
        return False
    return True


# ---------------------------------------------------------------- seller home


def _status_param(request: Request) -> str | None:
    status = request.query_params.get("status", "")
    return status if status in (ONSALE, INSTOCK) else None


def _list_url(status: str | None, page: int) -> Callable[..., str]:
    """Links of the item list; they name /seller themselves because the list is also shown
    in answer to a refused post to another path."""

    def url(**changes: Any) -> str:
        params = {"status": status, "page": page if page > 1 else None, **changes}
        query = urlencode({k: v for k, v in params.items() if v})
        return f"/seller?{query}" if query else "/seller"

    return url


async def _home(request: Request, user: User, status_code: int = 200, **extra: Any) -> Response:
    status, number = _status_param(request), page_param(request)
    async with db_of(request).read() as session:
        shop = await shops.my_shop(session, user)
        items = await catalog.list_seller_items(
            session, user, status, PageRequest(number, ITEMS_PAGE_SIZE)
        )
    list_url = _list_url(status, number)
    return await page(
        request,
        "seller/home.html",
        status_code,
        shop=shop,
        items=items,
        status=status,
        list_url=list_url,
        page_url=lambda n: list_url(page=n),
        notice=_notice(request),
        **extra,
    )


@router.get("")
async def home(request: Request, user: User = Depends(require_user)) -> Response:
    if not await _has_shop(request, user):
        return _redirect("/seller/shop/open")
    return await _home(request, user)


@router.post("/items/{item_id}/listing")
async def listing(
    request: Request, item_id: PathId, user: User = Depends(require_seller)
) -> Response:
    form = await form_dict(request)
    onsale = form.get("onsale") == "1"
    try:
        async with db_of(request).write() as session:
            await catalog.set_listing(session, user, item_id, onsale)
    except ValidationFailed as exc:
        problems = [p.message for p in exc.problems]
        return await _home(request, user, 422, problems=problems)
    back = safe_next(form.get("next"), "/seller")
    return _redirect(_with_msg(back, "listed" if onsale else "delisted"))


@router.post("/items/{item_id}/delete")
async def delete(
    request: Request, item_id: PathId, user: User = Depends(require_seller)
) -> Response:
    form = await form_dict(request)
    async with db_of(request).write() as session:
        await catalog.delete_item(session, user, item_id)
    return _redirect(_with_msg(safe_next(form.get("next"), "/seller"), "deleted"))


def _with_msg(url: str, msg: str) -> str:
    url = re.sub(r"([?&])msg=[^&]*&?", r"\1", url).rstrip("?&")
    return f"{url}{'&' if '?' in url else '?'}msg={msg}"


# ---------------------------------------------------------------- shop settings


async def _shop_page(
    request: Request, user: User, status_code: int = 200, **extra: Any
) -> Response:
    async with db_of(request).read() as session:
        shop = await shops.my_shop(session, user)
        cats = await shops.shop_category_tree(session, shop.id)
    context: dict[str, Any] = {
        "form": {"title": shop.title, "description": shop.description, "bulletin": shop.bulletin},
        "errors": {},
        "cat_form": {},
        "cat_errors": {},
        "cat_problems": [],
    }
    context.update(extra)
    return await page(
        request,
        "seller/shop.html",
        status_code,
        shop=shop,
        cats=cats,
        notice=_notice(request),
        **context,
    )


@router.get("/shop")
async def shop_settings(request: Request, user: User = Depends(require_seller)) -> Response:
    return await _shop_page(request, user)


@router.post("/shop")
async def save_shop(request: Request, user: User = Depends(require_seller)) -> Response:
    form = await form_dict(request)
    try:
        logo_key = await _store_upload(request, (await request.form()).get("logo"), "logos")
        data = parse(ShopInput, form)
        async with db_of(request).write() as session:
            await shops.update_shop(session, user, data, logo_key)
    except ValidationFailed as exc:
        return await _shop_page(request, user, 422, form=form, errors=exc.by_field())
    return _redirect("/seller/shop?msg=shop_saved")


def _category_input(form: dict[str, Any]) -> ShopCategoryInput:
    return parse(
        ShopCategoryInput,
        {
            "name": form.get("name", ""),
            "parent_id": form.get("parent_id") or None,
            "sort_order": form.get("sort_order") or 0,
        },
    )


@router.post("/shop/categories")
async def add_category(request: Request, user: User = Depends(require_seller)) -> Response:
    form = await form_dict(request)
    try:
        data = _category_input(form)
        async with db_of(request).write() as session:
            await shops.add_shop_category(session, user, data)
    except ValidationFailed as exc:
        return await _shop_page(request, user, 422, cat_form=form, cat_errors=exc.by_field())
    return _redirect("/seller/shop?msg=cat_saved#categories")


@router.post("/shop/categories/{cid}")
async def rename_category(
    request: Request, cid: PathId, user: User = Depends(require_seller)
) -> Response:
    form = await form_dict(request)
    try:
        data = _category_input(form)
        async with db_of(request).write() as session:
            await shops.update_shop_category(session, user, cid, data)
    except ValidationFailed as exc:
        problems = [f"{form.get('name', '')}: {p.message}" for p in exc.problems]
        return await _shop_page(request, user, 422, cat_problems=problems)
    return _redirect("/seller/shop?msg=cat_saved#categories")


@router.post("/shop/categories/{cid}/delete")
async def delete_category(
    request: Request, cid: PathId, user: User = Depends(require_seller)
) -> Response:
    async with db_of(request).write() as session:
        await shops.delete_shop_category(session, user, cid)
    return _redirect("/seller/shop?msg=cat_deleted#categories")


# ---------------------------------------------------------------- uploads


async def _store_upload(request: Request, upload: Any, folder: str) -> str | None:
    """Store one uploaded image and return its key; None when no file was chosen."""
    if not isinstance(upload, UploadFile) or not upload.filename:
        return None
    settings = settings_of(request)
    # One byte past the limit is enough to know the file is too large.
    data = await upload.read(settings.max_upload_bytes + 1)
    if not data:
        return None
    return validate_and_store_image(
        storage_of(request),
        data,
        max_bytes=settings.max_upload_bytes,
        max_pixels=settings.max_image_pixels,
        folder=folder,
    )


async def _store_item_images(
    request: Request, form: FormData
) -> tuple[list[str], list[FieldProblem]]:
    """The new uploads' keys, and problems with the files that were refused."""
    keys: list[str] = []
    problems: list[FieldProblem] = []
    for upload in form.getlist("images"):
        try:
            key = await _store_upload(request, upload, "items")
        except ValidationFailed as exc:
            name = upload.filename if isinstance(upload, UploadFile) else ""
            problems += [
                FieldProblem(p.field, p.rule, f"{name}: {p.message}") for p in exc.problems
            ]
            continue
        if key:
            keys.append(key)
    return keys, problems


# ---------------------------------------------------------------- the item form


@dataclass
class ItemForm:
    """What the item form shows: as stored (edit), as typed (a refused post) or empty."""

    category_id: int
    title: str = ""
    price: str = ""
    quantity: str = ""
    outer_id: str = ""
    location_state: str = ""
    location_city: str = ""
    approve_status: str = INSTOCK
    description: str = ""
    seller_cat_ids: set[int] = field(default_factory=set)
    props: dict[int, set[int]] = field(default_factory=dict)
    input_props: dict[int, str] = field(default_factory=dict)
    image_keys: list[str] = field(default_factory=list)
    sale_vids: dict[int, set[int]] = field(default_factory=dict)
    # "pid:vid;pid:vid" -> {"price", "quantity", "outer_id"}, to fill the SKU matrix in
    skus: dict[str, dict[str, str]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> Any:
        """Dict-style access, for the shared field macro."""
        return getattr(self, name, default)


def _ints(values: list[Any]) -> list[int]:
    return [int(v) for v in values if isinstance(v, str) and v.strip().isdigit()]


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def _prefixed_ids(form: FormData, prefix: str) -> list[int]:
    """The ids N of the fields named ``<prefix>N`` in the form, in order."""
    ids = []
    for key in form:
        rest = key.removeprefix(prefix)
        if rest != key and rest.isdigit():
            ids.append(int(rest))
    return ids


def _sku_rows(form: FormData) -> list[dict[str, str]]:
    """The SKU matrix rows as typed, in row order."""
    indexes = sorted(int(m[1]) for key in form if (m := re.fullmatch(r"sku-(\d+)-properties", key)))
    return [
        {
            attr: _text(form, f"sku-{i}-{attr}").strip()
            for attr in ("properties", "price", "quantity", "outer_id")
        }
        for i in indexes
    ]


def form_state(form: FormData, image_keys: list[str]) -> ItemForm:
    """The item form as the seller typed it, to show it again."""
    return ItemForm(
        category_id=(_ints([_text(form, "category_id")]) or [0])[0],
        title=_text(form, "title"),
        price=_text(form, "price"),
        quantity=_text(form, "quantity"),
        outer_id=_text(form, "outer_id"),
        location_state=_text(form, "location_state"),
        location_city=_text(form, "location_city"),
        approve_status=_text(form, "approve_status") or INSTOCK,
        description=_text(form, "description"),
        seller_cat_ids=set(_ints(form.getlist("seller_cat"))),
        props={
            pid: set(_ints(form.getlist(f"prop-{pid}"))) for pid in _prefixed_ids(form, "prop-")
        },
        input_props={pid: _text(form, f"input-{pid}") for pid in _prefixed_ids(form, "input-")},
        image_keys=image_keys,
        sale_vids={
            pid: set(_ints(form.getlist(f"sale-{pid}"))) for pid in _prefixed_ids(form, "sale-")
        },
        skus={row["properties"]: row for row in _sku_rows(form) if row["properties"]},
    )


def detail_state(detail: ItemDetail) -> ItemForm:
    """The item form filled in from a stored item."""
    item = detail.item
    sale_vids: dict[int, set[int]] = {}
    for sku in detail.skus:
        for pid, vid in (catalog.parse_properties(sku.properties) or {}).items():
            sale_vids.setdefault(pid, set()).add(vid)
    return ItemForm(
        category_id=item.category_id,
        title=item.title,
        price=format_fen(item.price),
        quantity=str(item.quantity),
        outer_id=item.outer_id or "",
        location_state=item.location_state,
        location_city=item.location_city,
        approve_status=item.approve_status,
        description=item.description,
        seller_cat_ids=set(detail.seller_cat_ids),
        props={pid: set(vids) for pid, vids in detail.prop_vids.items()},
        input_props=dict(detail.input_props),
        image_keys=[image.url for image in detail.images],
        sale_vids=sale_vids,
        skus={
            sku.properties: {
                "price": format_fen(sku.price),
                "quantity": str(sku.quantity),
                "outer_id": sku.outer_id or "",
            }
            for sku in detail.skus
        },
    )


def _whole(raw: str, name: str, problems: list[FieldProblem]) -> int | None:
    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"-?\d{1,9}", raw):
        problems.append(FieldProblem(name, "int", "enter a whole number · 请输入整数"))
        return None
    return int(raw)


def _priced_rows(form: FormData) -> list[dict[str, str]]:
    # A row left without a price is a combination the seller does not sell.
    return [row for row in _sku_rows(form) if row["price"] and row["properties"]]


def sku_row_properties(form: FormData) -> list[str]:
    """The matrix row (its properties) that each of ``item_input``'s SKUs came from, so
    that the service's ``skus.N.*`` problems find their row again."""
    return [row["properties"] for row in _priced_rows(form)]


def item_input(form: FormData, image_keys: list[str]) -> ItemInput:
    """Read the item form into an ``ItemInput``; everything is passed on as typed and the
    service decides what is valid. Raises ``ValidationFailed`` for what cannot be read
    (a quantity that is not a whole number, say)."""
    problems: list[FieldProblem] = []
    skus = [
        {
            "properties": row["properties"],
            "price": row["price"],
            "quantity": _whole(row["quantity"], f"skus.{i}.quantity", problems) or 0,
            "outer_id": row["outer_id"] or None,
        }
        for i, row in enumerate(_priced_rows(form))
    ]
    props = {pid: _ints(form.getlist(f"prop-{pid}")) for pid in _prefixed_ids(form, "prop-")}
    inputs = {pid: _text(form, f"input-{pid}").strip() for pid in _prefixed_ids(form, "input-")}
    fields = {
        "title": _text(form, "title"),
        "category_id": _text(form, "category_id"),
        "price": _text(form, "price").strip() or None,
        "quantity": _whole(_text(form, "quantity"), "quantity", problems),
        "description": _text(form, "description"),
        "props": {pid: vids for pid, vids in props.items() if vids},
        "input_props": {pid: text for pid, text in inputs.items() if text},
        "location_state": _text(form, "location_state"),
        "location_city": _text(form, "location_city"),
        "outer_id": _text(form, "outer_id").strip() or None,
        "approve_status": _text(form, "approve_status") or INSTOCK,
        "seller_cat_ids": _ints(form.getlist("seller_cat")),
        "skus": skus,
        "image_keys": image_keys,
    }
    try:
        data = ItemInput.model_validate(fields)
    except ValidationError as exc:
        problems += problems_from_pydantic(exc).problems
    if problems:
        raise ValidationFailed(problems)
    return data


@dataclass
class FormErrors:
    """Problems sorted by where the form shows them."""

    fields: dict[str, str] = field(default_factory=dict)
    props: dict[int, str] = field(default_factory=dict)
    skus: dict[str, dict[str, str]] = field(default_factory=dict)  # properties -> attr -> msg
    other: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.fields or self.props or self.skus or self.other)


def sort_problems(problems: list[FieldProblem], sku_rows: list[str]) -> FormErrors:
    errors = FormErrors()
    for p in problems:
        if p.field in ITEM_FIELDS:
            errors.fields.setdefault(p.field, p.message)
        elif _IMAGE_FIELD.match(p.field):
            errors.fields.setdefault("images", p.message)
        elif (m := _PROP_FIELD.match(p.field)) is not None:
            errors.props.setdefault(int(m[2] or m[3]), p.message)
        elif (m := _SKU_FIELD.match(p.field)) is not None and int(m[1] or m[2]) < len(sku_rows):
            row = sku_rows[int(m[1] or m[2])]
            errors.skus.setdefault(row, {}).setdefault(m[3], p.message)
        else:
            errors.other.append(f"{p.field}: {p.message}")
    return errors


@dataclass
class MatrixRow:
    properties: str
    names: list[str]  # the value names, one per sale prop
    values: dict[str, str]


def matrix_rows(sale_props: list[ItemProp], state: ItemForm) -> list[MatrixRow]:
    """Every combination of the checked sale values, as the page's script also builds it."""
    columns = []
    for prop in sale_props:
        chosen = [v for v in prop.values if v.id in state.sale_vids.get(prop.id, set())]
        if not chosen:
            return []
        columns.append([(prop.id, v) for v in chosen])
    rows = []
    for combo in itertools.product(*columns):
        pairs = sorted((pid, value.id) for pid, value in combo)
        properties = ";".join(f"{pid}:{vid}" for pid, vid in pairs)
        names = [value.name for _, value in combo]
        rows.append(MatrixRow(properties, names, state.skus.get(properties, {})))
    return rows


async def _item_form(
    request: Request,
    user: User,
    state: ItemForm,
    *,
    item_id: int | None = None,
    errors: FormErrors | None = None,
    status_code: int = 200,
) -> Response:
    async with db_of(request).read() as session:
        category = await catalog.get_category(session, state.category_id)
        props = await catalog.category_props(session, category.id)
        shop = await shops.my_shop(session, user)
        seller_cats = await shops.shop_category_tree(session, shop.id)
    sale_props = [p for p in props if p.is_sale_prop]
    errors = errors or FormErrors()
    return await page(
        request,
        "seller/item_form.html",
        status_code,
        category=category,
        props=[p for p in props if not p.is_sale_prop],
        sale_props=sale_props,
        seller_cats=seller_cats,
        state=state,
        rows=matrix_rows(sale_props, state),
        errors=errors,
        item_id=item_id,
        max_title=catalog.MAX_TITLE,
        max_images=catalog.MAX_IMAGES,
    )


@router.get("/items/new")
async def new_item(request: Request, user: User = Depends(require_seller)) -> Response:
    raw = request.query_params.get("cid", "")
    category, problem = await _leaf_category(request, raw) if raw else (None, None)
    if category is not None:
        return await _item_form(request, user, ItemForm(category_id=category.id))
    async with db_of(request).read() as session:
        tree = await catalog.category_tree(session)
    status_code = 422 if problem else 200
    return await page(
        request, "seller/choose_category.html", status_code, tree=tree, problem=problem
    )


async def _leaf_category(request: Request, raw: str) -> tuple[Category | None, str | None]:
    """The category named in the URL if items can go there, or why they cannot."""
    try:
        async with db_of(request).read() as session:
            return await catalog.listing_category(session, int(raw) if raw.isdigit() else 0), None
    except ValidationFailed as exc:
        return None, exc.problems[0].message.capitalize()


async def _own_detail(request: Request, user: User, item_id: int) -> ItemDetail:
    """The seller's own item; someone else's is "not found", like the services say."""
    async with db_of(request).read() as session:
        return await catalog.get_own_item_detail(session, user, item_id)


@router.get("/items/{item_id}/edit")
async def edit_item(
    request: Request, item_id: PathId, user: User = Depends(require_seller)
) -> Response:
    detail = await _own_detail(request, user, item_id)
    return await _item_form(request, user, detail_state(detail), item_id=item_id)


async def _write_item(request: Request, user: User, item_id: int | None, data: ItemInput) -> None:
    storage = storage_of(request)
    async with db_of(request).write() as session:
        if item_id is None:
            await catalog.create_item(session, user, data, storage=storage)
        else:
            await catalog.update_item(session, user, item_id, data, storage=storage)


async def _save_item(request: Request, user: User, item_id: int | None) -> Response:
    form = await request.form()
    kept = [k for k in form.getlist("image_key") if isinstance(k, str) and k]
    new_keys, problems = await _store_item_images(request, form)
    keys = kept + new_keys
    try:
        data = item_input(form, keys)
        if not problems:  # a refused upload is reported before anything is saved without it
            await _write_item(request, user, item_id, data)
    except ValidationFailed as exc:
        problems += exc.problems
    if not problems:
        return _redirect("/seller?msg=saved")
    if item_id is not None:
        await _own_detail(request, user, item_id)  # someone else's item stays "not found"
    errors = sort_problems(problems, sku_row_properties(form))
    state = form_state(form, keys)
    return await _item_form(request, user, state, item_id=item_id, errors=errors, status_code=422)


@router.post("/items")
async def create_item(request: Request, user: User = Depends(require_seller)) -> Response:
    return await _save_item(request, user, None)


@router.post("/items/{item_id}")
async def update_item(
    request: Request, item_id: PathId, user: User = Depends(require_seller)
) -> Response:
    return await _save_item(request, user, item_id)
