"""Seeding: the demo marketplace, and bulk data for benchmarks.

Each seeder writes everything in one write transaction through :mod:`mercato.demo.build`.
Pictures are drawn and stored first, in a worker thread, so the SQLite write lock is held
only for the inserts.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from mercato.demo import data
from mercato.demo.build import (
    ID_TABLES,
    CategoryTree,
    Ids,
    ItemRows,
    PlannedItem,
    ShopRef,
    SqliteBulkMode,
    add_item_rows,
    ensure_category_tree,
    insert_rows,
    plan_item,
)
from mercato.demo.data import (
    BUYER_NICKS,
    CITY_EN,
    DEMO_ACCOUNTS,
    LEAVES,
    LOCATIONS,
    SHOP_WORDS,
    SHOPS,
    ShopSpec,
)
from mercato.demo.images import product_image, shop_logo
from mercato.kit.clock import utcnow
from mercato.kit.db import Database
from mercato.kit.passwords import hash_password
from mercato.kit.storage import Storage
from mercato.ledger.service import deposit
from mercato.models import Base, User
from mercato.trade.schemas import AddressInput
from mercato.trade.service import add_address

Progress = Callable[[str, int, int], None]

BULK_PASSWORD = "mercato-bulk"  # every bulk seller's password: benchmarks sign in with it
BULK_NICK = "bulk_seller_"
BULK_BUYER_NICK = "bulk_buyer_"
BULK_BATCH = 5_000
IMAGE_VARIANTS = 3  # pictures per leaf category in the shared pool
T = Base.metadata.tables


@dataclass(frozen=True)
class DemoSummary:
    """What :func:`seed_demo` made; with ``created=False`` the counts describe what the
    database already held."""

    created: bool
    users: int
    shops: int
    items: int
    skus: int
    categories: int
    accounts: list[str]
    password: str


@dataclass(frozen=True)
class BulkSummary:
    """What :func:`seed_bulk` added, and how long it took."""

    shops: int
    items: int
    skus: int
    categories: int
    seconds: float


def _noop(_label: str, _done: int, _total: int) -> None:
    return None


# --- pictures ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Picture:
    folder: str
    family: str = ""
    shape: str = ""
    caption: str = ""
    seed: int = 0
    logo: str = ""  # a logo for this name instead of a product picture


def _draw_and_store(storage: Storage, pictures: list[_Picture]) -> list[str]:
    keys = []
    for p in pictures:
        if p.logo:
            blob, suffix = shop_logo(name=p.logo, seed=p.seed), ".png"
        else:
            blob = product_image(family=p.family, shape=p.shape, caption=p.caption, seed=p.seed)
            suffix = ".jpg"
        keys.append(storage.save(blob, suffix=suffix, folder=p.folder))
    return keys


async def _store_pictures(
    storage: Storage, pictures: list[_Picture], progress: Progress, chunk: int = 24
) -> list[str]:
    """Draw and store in a worker thread, a chunk at a time, reporting progress."""
    keys: list[str] = []
    for start in range(0, len(pictures), chunk):
        keys += await asyncio.to_thread(_draw_and_store, storage, pictures[start : start + chunk])
        progress("images", len(keys), len(pictures))
    return keys


def _pool_pictures() -> list[_Picture]:
    """A few generic pictures per leaf category, shared by many items."""
    return [
        _Picture("items", leaf.family, leaf.shape, leaf.name_en, 10_000 + v)
        for leaf in LEAVES.values()
        for v in range(IMAGE_VARIANTS)
    ]


_LEAF_ORDER = {key: n for n, key in enumerate(LEAVES)}


def _pool_index(leaf_key: str, variant: int) -> int:
    return _LEAF_ORDER[leaf_key] * IMAGE_VARIANTS + variant % IMAGE_VARIANTS


# --- the demo ---------------------------------------------------------------------------

DEMO_SEED = 20_240_601
ITEMS_PER_LEAF = 15
EXTRA_ITEMS = {"dress": 5, "tshirt": 3, "phone": 3}
DEMO_BUYER = "demo_buyer"
DEMO_WALLET_FEN = 2_000_000  # ¥20,000 in every demo buyer's wallet
DEMO_BUYER_ADDRESS = {
    "name": "王小明",
    "mobile": "13800138000",
    "state": "浙江省",
    "city": "杭州市",
    "district": "西湖区",
    "address": "文三路 100 号 1 幢 501 室",
    "zip": "310012",
    "is_default": True,
}


async def _count(conn: AsyncConnection, table: str) -> int:
    return int((await conn.execute(select(func.count()).select_from(T[table]))).scalar_one())


def _plan_demo(rng: random.Random, now: datetime) -> list[tuple[int, PlannedItem]]:
    """(shop index, item) for every demo item."""
    planned: list[tuple[int, PlannedItem]] = []
    for leaf in LEAVES.values():
        sellers = [i for i, s in enumerate(SHOPS) if leaf.key in s.leaves]
        seen: set[str] = set()
        for n in range(ITEMS_PER_LEAF + EXTRA_ITEMS.get(leaf.key, 0)):
            shop = sellers[n % len(sellers)]
            if n < len(leaf.featured):
                item = plan_item(rng, leaf, now, title=data.featured_title(leaf.featured[n]))
                item.status, item.delist_time = "onsale", None
            else:
                for _ in range(8):  # avoid duplicate titles
                    item = plan_item(rng, leaf, now)
                    if item.title.text not in seen:
                        break
            seen.add(item.title.text)
            planned.append((shop, item))
    return planned


def _shop_category_rows(
    ids: Ids, shop_id: int, spec: ShopSpec, created: datetime
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """A small seller-category tree: 新品上架, 热销爆款, and 宝贝分类 with a child per leaf.
    Returns the rows and the ids by role ("new", "hot", or a leaf key)."""
    rows: list[dict[str, Any]] = []
    by_role: dict[str, int] = {}

    def add(name: str, parent: int | None, sort: int) -> int:
        cid = ids.take("shop_categories")
        rows.append(
            {
                "id": cid,
                "shop_id": shop_id,
                "parent_id": parent,
                "name": name,
                "pic_url": None,
                "sort_order": sort,
                "created_at": created,
                "modified_at": created,
            }
        )
        return cid

    by_role["new"] = add("新品上架 New in", None, 0)
    by_role["hot"] = add("热销爆款 Best sellers", None, 1)
    root = add("宝贝分类 Categories", None, 2)
    for sort, key in enumerate(spec.leaves):
        leaf = LEAVES[key]
        by_role[key] = add(f"{leaf.name} {leaf.name_en}", root, sort)
    return rows, by_role


async def seed_demo(
    db: Database,
    storage: Storage,
    *,
    password: str,
    progress: Progress | None = None,
) -> DemoSummary:
    """Fill an empty marketplace with the demo: categories, accounts, shops and ~350 items,
    ¥20,000 in every buying account's wallet and an address book entry for demo_buyer.

    Does nothing (``created=False``) when the database already has users. Every account's
    password is ``password``. ``progress(label, done, total)`` is called as pictures are
    drawn ("images"), then once for "catalog" and once for "items".
    """
    report = progress or _noop
    accounts = [nick for nick, _ in DEMO_ACCOUNTS]
    if summary := await _existing(db, accounts, password):
        return summary
    now = utcnow()
    rng = random.Random(DEMO_SEED)
    planned = _plan_demo(rng, now)

    # Pictures first, outside the transaction: a unique major picture per item, then a
    # shared pool for the extra angles, then the shop logos.
    pictures = [
        _Picture("items", it.leaf.family, it.leaf.shape, it.title.en, n)
        for n, (_, it) in enumerate(planned)
    ]
    pictures += _pool_pictures()
    pictures += [_Picture("shops", logo=s.title_en, seed=n) for n, s in enumerate(SHOPS)]
    keys = await _store_pictures(storage, pictures, report)
    pool = keys[len(planned) : len(planned) + len(LEAVES) * IMAGE_VARIANTS]
    logos = keys[-len(SHOPS) :]
    for n, (_, it) in enumerate(planned):
        extra = rng.choice((0, 1, 2, 2, 3))
        start = rng.randrange(IMAGE_VARIANTS)
        it.images = [keys[n]] + [pool[_pool_index(it.leaf.key, start + v)] for v in range(extra)]

    password_hash = await asyncio.to_thread(hash_password, password)
    async with db.write() as session:
        conn: AsyncConnection = await session.connection()
        if await _count(conn, "users"):  # somebody seeded while we drew
            return await _summarize(conn, False, accounts, password)
        ids = Ids(conn)
        await ids.reserve(ID_TABLES)
        tree = await ensure_category_tree(conn, ids)
        report("catalog", 1, 1)
        user_ids = await _demo_users(conn, ids, rng, now, password_hash)
        shops = await _demo_shops(conn, ids, rng, now, user_ids, logos)
        rows = await _demo_items(conn, ids, tree, shops, planned, storage)
        await ids.finish()
        await _demo_wallets_and_address(session, user_ids)
        report("items", len(planned), len(planned))
    return DemoSummary(
        created=True,
        users=len(user_ids),
        shops=len(shops),
        items=len(rows.items),
        skus=len(rows.skus),
        categories=tree.categories,
        accounts=accounts,
        password=password,
    )


@dataclass
class _DemoShop:
    ref: ShopRef
    seller_cats: dict[str, int]  # "new", "hot" or a leaf key -> shop category id


async def _demo_shops(
    conn: AsyncConnection,
    ids: Ids,
    rng: random.Random,
    now: datetime,
    user_ids: dict[str, int],
    logos: list[str],
) -> list[_DemoShop]:
    out: list[_DemoShop] = []
    shops, cats = [], []
    for n, spec in enumerate(SHOPS):
        shop_id, seller = ids.take("shops"), user_ids[spec.nick]
        opened = now - timedelta(days=rng.randint(200, 900))
        shops.append(
            {
                "id": shop_id,
                "seller_id": seller,
                "title": spec.title,
                "description": spec.description,
                "bulletin": spec.bulletin,
                "logo_key": logos[n],
                "status": "normal",
                "created_at": opened,
                "modified_at": now,
            }
        )
        cat_rows, by_role = _shop_category_rows(ids, shop_id, spec, opened)
        cats += cat_rows
        out.append(_DemoShop(ShopRef(shop_id, seller, spec.state, spec.city), by_role))
    await insert_rows(conn, "shops", shops)
    await insert_rows(conn, "shop_categories", cats)
    return out


async def _demo_items(
    conn: AsyncConnection,
    ids: Ids,
    tree: CategoryTree,
    shops: list[_DemoShop],
    planned: list[tuple[int, PlannedItem]],
    storage: Storage,
) -> ItemRows:
    """Insert the planned items; each goes in its leaf's seller category, the newest fifth
    also in 新品上架 and the best sellers in 热销爆款."""
    rows = ItemRows()
    links: list[dict[str, int]] = []
    newest = sorted(it.list_time for _, it in planned)[-len(planned) // 5]
    for n, it in planned:
        shop = shops[n]
        item_id = add_item_rows(rows, ids, it, tree.leaves[it.leaf.key], shop.ref, storage)
        roles = [it.leaf.key] + (["new"] if it.list_time >= newest else [])
        roles += ["hot"] if it.sold > 200 else []
        links += [{"item_id": item_id, "shop_category_id": shop.seller_cats[r]} for r in roles]
    for table, table_rows in rows.tables():
        await insert_rows(conn, table, table_rows)
    await insert_rows(conn, "item_seller_cats", links)
    return rows


async def _existing(db: Database, accounts: list[str], password: str) -> DemoSummary | None:
    async with db.read() as session:
        conn = await session.connection()
        if not await _count(conn, "users"):
            return None
        return await _summarize(conn, False, accounts, password)


async def _summarize(
    conn: AsyncConnection, created: bool, accounts: list[str], password: str
) -> DemoSummary:
    users = T["users"]
    present = await conn.execute(select(users.c.nick).where(users.c.nick.in_(accounts)))
    nicks = set(present.scalars())
    return DemoSummary(
        created=created,
        users=await _count(conn, "users"),
        shops=await _count(conn, "shops"),
        items=await _count(conn, "items"),
        skus=await _count(conn, "skus"),
        categories=await _count(conn, "categories"),
        accounts=[a for a in accounts if a in nicks],
        password=password,
    )


async def _demo_users(
    conn: AsyncConnection, ids: Ids, rng: random.Random, now: datetime, password_hash: str
) -> dict[str, int]:
    people: list[tuple[str, tuple[str, ...]]] = list(DEMO_ACCOUNTS)
    people += [(s.nick, ("seller", "buyer")) for s in SHOPS if s.nick not in dict(people)]
    people += [(nick, ("buyer",)) for nick in BUYER_NICKS]
    users, roles, by_nick = [], [], {}
    for nick, role_names in people:
        uid = by_nick[nick] = ids.take("users")
        joined = now - timedelta(days=rng.randint(30, 1200))
        users.append(_user_row(uid, nick, password_hash, joined, now))
        roles += [{"user_id": uid, "role": r} for r in role_names]
    await insert_rows(conn, "users", users)
    await insert_rows(conn, "user_roles", roles)
    return by_nick


def _user_row(
    uid: int, nick: str, password_hash: str, joined: datetime, now: datetime
) -> dict[str, Any]:
    return {
        "id": uid,
        "nick": nick,
        "nick_key": nick.lower(),
        "email": f"{nick}@example.com",
        "password_hash": password_hash,
        "status": "normal",
        "avatar_url": None,
        "created_at": joined,
        "modified_at": now,
    }


def _demo_buyer_nicks() -> list[str]:
    """Every demo account that buys: the demo accounts with the buyer role, the shop
    owners (who also buy) and the buyer-only accounts."""
    nicks = [nick for nick, roles in DEMO_ACCOUNTS if "buyer" in roles]
    nicks += [s.nick for s in SHOPS] + list(BUYER_NICKS)
    return list(dict.fromkeys(nicks))


async def _demo_wallets_and_address(session: AsyncSession, user_ids: dict[str, int]) -> None:
    """Money in every demo buyer's wallet, and an address for demo_buyer, so checkout and
    payment work in the demo straight away. Same transaction as the rest of the seed."""
    for nick in _demo_buyer_nicks():
        uid = user_ids[nick]
        await deposit(session, uid, DEMO_WALLET_FEN, key=f"demo-topup:{uid}")
    buyer = await session.get(User, user_ids[DEMO_BUYER])
    assert buyer is not None
    await add_address(session, buyer, AddressInput.model_validate(DEMO_BUYER_ADDRESS))


# --- bulk -------------------------------------------------------------------------------


async def seed_bulk(
    db: Database,
    storage: Storage,
    *,
    items: int,
    shops: int,
    progress: Progress | None = None,
    seed: int = 1,
) -> BulkSummary:
    """Add ``shops`` sellers with a shop each and ``items`` items spread over them, fast.

    The category tree is created if missing. About 30% of items land in categories with sale
    properties and get 2-6 SKUs. Sellers are ``bulk_seller_NNNNNN`` with password
    :data:`BULK_PASSWORD`. Pictures come from a small shared pool. ``progress(label, done,
    total)`` is called for "images", "shops", then after each batch of items ("items").
    ``seed`` makes the data reproducible.
    """
    if shops < 1 and items:
        raise ValueError("items need at least one shop")
    report = progress or _noop
    started = time.perf_counter()
    rng = random.Random(seed)
    now = utcnow()
    pool_pics = _pool_pictures()
    pool_pics += [_Picture("shops", logo=f"{w.en} {c}", seed=0) for w in SHOP_WORDS for c in "ABCD"]
    keys = await _store_pictures(storage, pool_pics, report)
    pool, logos = keys[: len(LEAVES) * IMAGE_VARIANTS], keys[len(LEAVES) * IMAGE_VARIANTS :]
    password_hash = await asyncio.to_thread(hash_password, BULK_PASSWORD)

    async with db.write() as session:
        conn: AsyncConnection = await session.connection()
        ids = Ids(conn)
        await ids.reserve(ID_TABLES)
        tree = await ensure_category_tree(conn, ids)
        shop_rows = await _bulk_shops(conn, ids, rng, now, shops, password_hash, logos)
        report("shops", shops, shops)

        first_item = ids.take("items", 0)
        fast = await SqliteBulkMode.enter(conn)
        skus = await _bulk_items(conn, ids, rng, now, items, tree, shop_rows, pool, storage, report)
        await fast.leave(first_item)
        await ids.finish()
    await _refresh_statistics(db)
    return BulkSummary(shops, items, skus, tree.categories, time.perf_counter() - started)


async def seed_buyers(db: Database, *, count: int, wallet_fen: int, seed: int = 1) -> list[str]:
    """Add ``count`` buyers ``bulk_buyer_NNNNNN`` (password :data:`BULK_PASSWORD`), each
    with a default address and ``wallet_fen`` deposited in the wallet, for load tests that
    check out and pay. Returns their nicks. Numbers continue after the greatest one there."""
    rng = random.Random(seed)
    now = utcnow()
    password_hash = await asyncio.to_thread(hash_password, BULK_PASSWORD)
    async with db.write() as session:
        conn: AsyncConnection = await session.connection()
        ids = Ids(conn)
        await ids.reserve(["users", "addresses"])
        first = await _next_bulk_number(conn, BULK_BUYER_NICK)
        users, roles, addresses, nicks = [], [], [], []
        for n in range(first, first + count):
            uid = ids.take("users")
            nick = f"{BULK_BUYER_NICK}{n:06d}"
            nicks.append(nick)
            users.append(_user_row(uid, nick, password_hash, now, now))
            roles.append({"user_id": uid, "role": "buyer"})
            addresses.append(_address_row(ids.take("addresses"), uid, n, rng, now))
        await insert_rows(conn, "users", users)
        await insert_rows(conn, "user_roles", roles)
        await insert_rows(conn, "addresses", addresses)
        await ids.finish()
        if wallet_fen > 0:
            for user in users:
                await deposit(session, user["id"], wallet_fen, key=f"bulk-topup:{user['id']}")
    return nicks


def _address_row(
    address_id: int, user_id: int, n: int, rng: random.Random, now: datetime
) -> dict[str, Any]:
    state, city = rng.choice(LOCATIONS)
    return {
        "id": address_id,
        "user_id": user_id,
        "name": f"买家{n}",
        "mobile": f"138{n:08d}"[-11:],
        "state": state,
        "city": city,
        "district": "",
        "address": f"{CITY_EN[city]} Road {n}",
        "zip": "",
        "is_default": True,
        "created_at": now,
        "modified_at": now,
    }


async def _next_bulk_number(conn: AsyncConnection, prefix: str) -> int:
    """One past the greatest NNNNNN of the ``prefix``NNNNNN nicks already there."""
    users_t = T["users"]
    # Zero-padded numbers sort as text, so the greatest nick holds the greatest number.
    last = await conn.execute(
        select(func.max(users_t.c.nick)).where(
            users_t.c.nick.startswith(prefix, autoescape=True),
            func.length(users_t.c.nick) == len(prefix) + 6,
        )
    )
    top = last.scalar()
    return int(top[len(prefix) :]) + 1 if top and top[len(prefix) :].isdigit() else 1


async def _refresh_statistics(db: Database) -> None:
    """Tell the query planner what the bulk insert changed. Without fresh statistics
    PostgreSQL takes the new rows for a handful and plans searches as scans."""
    async with db.write() as session:
        await session.execute(text("ANALYZE"))


async def _bulk_items(
    conn: AsyncConnection,
    ids: Ids,
    rng: random.Random,
    now: datetime,
    items: int,
    tree: CategoryTree,
    shops: list[ShopRef],
    pool: list[str],
    storage: Storage,
    report: Progress,
) -> int:
    """Insert ``items`` items in batches; returns how many SKUs they got.

    On PostgreSQL a batch is written while the next is planned, so that the server works on
    one core while Python plans on another (about twice as fast). On SQLite that overlap is
    slower: the driver's thread and the planning fight over the GIL.
    """
    overlap = conn.dialect.name != "sqlite"
    sale_leaves = [k for k, leaf in LEAVES.items() if leaf.sale_props]
    plain_leaves = [k for k, leaf in LEAVES.items() if not leaf.sale_props]
    writing: asyncio.Task[None] | None = None
    done = skus = 0
    try:
        while done < items:
            rows = ItemRows()
            for n in range(min(BULK_BATCH, items - done)):
                key = rng.choice(sale_leaves if rng.random() < 0.3 else plain_leaves)
                it = plan_item(
                    rng, LEAVES[key], now, full_skus=False, instock_rate=0.05, facts=False
                )
                it.images = [pool[_pool_index(key, rng.randrange(IMAGE_VARIANTS))]]
                add_item_rows(rows, ids, it, tree.leaves[key], rng.choice(shops), storage)
                if overlap and n % 250 == 0:
                    await asyncio.sleep(0)  # let the batch being written reach its next table
            if writing:  # the previous batch
                await writing
                report("items", done, items)
            writing = asyncio.create_task(_write_batch(conn, rows))
            done += len(rows.items)
            skus += len(rows.skus)
            if not overlap:
                await writing
                writing = None
                report("items", done, items)
        if writing:
            await writing
            report("items", done, items)
    except BaseException:
        if writing and not writing.done():
            writing.cancel()
            with contextlib.suppress(BaseException):
                await writing
        raise
    return skus


async def _write_batch(conn: AsyncConnection, rows: ItemRows) -> None:
    for table, table_rows in rows.tables():
        await insert_rows(conn, table, table_rows)


async def _bulk_shops(
    conn: AsyncConnection,
    ids: Ids,
    rng: random.Random,
    now: datetime,
    count: int,
    password_hash: str,
    logos: list[str],
) -> list[ShopRef]:
    first = await _next_bulk_number(conn, BULK_NICK)
    users, roles, shops, out = [], [], [], []
    for n in range(first, first + count):
        uid, shop_id = ids.take("users"), ids.take("shops")
        nick = f"{BULK_NICK}{n:06d}"
        users.append(_user_row(uid, nick, password_hash, now, now))
        roles += [{"user_id": uid, "role": "seller"}, {"user_id": uid, "role": "buyer"}]
        state, city = rng.choice(LOCATIONS)
        word = rng.choice(SHOP_WORDS)
        shops.append(
            {
                "id": shop_id,
                "seller_id": uid,
                "title": f"{city}{word.zh}{n} {CITY_EN[city]} {word.en} {n}",
                "description": f"{city}{word.zh}，品质好物。Quality goods from {CITY_EN[city]}.",
                "bulletin": "",
                "logo_key": logos[n % len(logos)],
                "status": "normal",
                "created_at": now,
                "modified_at": now,
            }
        )
        out.append(ShopRef(shop_id, uid, state, city))
    await insert_rows(conn, "users", users)
    await insert_rows(conn, "user_roles", roles)
    await insert_rows(conn, "shops", shops)
    return out
