"""The machinery under the seeders: ids handed out in advance, fast inserts, the category
tree, and planning items (with SKUs) and turning them into rows.

Rows are written with SQLAlchemy Core ``executemany`` (a binary COPY on PostgreSQL), with
primary keys handed out here, after each table's current maximum, so that SKU, image and
property rows point at their item without a round trip per row.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, insert, select, text
from sqlalchemy.ext.asyncio import AsyncConnection

from mercato.demo import data
from mercato.demo.data import FAMILIES, Leaf, Node, Title, Word
from mercato.kit.searchtext import search_text
from mercato.kit.storage import Storage
from mercato.models import Base

LIST_WINDOW = timedelta(days=60)  # list_time falls within the last 60 days

T = Base.metadata.tables
ID_TABLES = (
    "categories",
    "item_props",
    "prop_values",
    "users",
    "shops",
    "shop_categories",
    "items",
    "item_images",
    "item_prop_values",
    "skus",
)


# --- ids --------------------------------------------------------------------------------


class Ids:
    """Primary keys handed out after each table's current maximum.

    On SQLite the write transaction (BEGIN IMMEDIATE) already keeps other writers out. On
    PostgreSQL the tables are locked against other writers until commit, the sequences'
    handed-out values are respected, and :meth:`finish` moves each sequence past our ids.
    """

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.is_pg = conn.dialect.name == "postgresql"
        self._next: dict[str, int] = {}

    async def reserve(self, names: Iterable[str]) -> None:
        names = list(names)
        if self.is_pg:
            await self.conn.execute(
                text(f"LOCK TABLE {', '.join(names)} IN SHARE ROW EXCLUSIVE MODE")
            )
        for name in names:
            top = (await self.conn.execute(select(func.max(T[name].c.id)))).scalar() or 0
            if self.is_pg:
                seq = (
                    await self.conn.execute(
                        text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": name}
                    )
                ).scalar_one()
                used = await self.conn.execute(
                    text(f"SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM {seq}")
                )
                top = max(top, used.scalar_one())
            self._next[name] = top + 1

    def take(self, name: str, n: int = 1) -> int:
        """The first of ``n`` consecutive fresh ids."""
        first = self._next[name]
        self._next[name] = first + n
        return first

    async def finish(self) -> None:
        if not self.is_pg:
            return
        for name in self._next:
            await self.conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), max(id)) "
                    f"FROM {name} HAVING max(id) IS NOT NULL"
                )
            )


COPY_THRESHOLD = 500


async def insert_rows(conn: AsyncConnection, table: str, rows: list[dict[str, Any]]) -> None:
    """Insert rows that all have the same keys: ``executemany``, or on PostgreSQL with
    asyncpg a binary COPY for big batches (several times faster)."""
    if not rows:
        return
    if len(rows) >= COPY_THRESHOLD and conn.dialect.driver == "asyncpg":
        columns = list(rows[0])
        raw = await conn.get_raw_connection()
        await raw.driver_connection.copy_records_to_table(  # type: ignore[union-attr]
            table, columns=columns, records=[tuple(r[c] for c in columns) for r in rows]
        )
        return
    await conn.execute(insert(T[table]), rows)


# --- the category tree ------------------------------------------------------------------


@dataclass
class SaleInfo:
    prop_id: int
    value_ids: list[int]
    spec: data.SaleProp


@dataclass
class LeafInfo:
    leaf: Leaf
    category_id: int
    brand_prop_id: int
    brand_value_ids: list[int]
    sale: list[SaleInfo] = field(default_factory=list)  # in the leaf's spec order
    attrs: list[tuple[int, list[int]]] = field(default_factory=list)
    model_prop_id: int | None = None


@dataclass
class CategoryTree:
    leaves: dict[str, LeafInfo]
    categories: int


@dataclass
class _PropDef:
    name: str
    name_en: str
    values: tuple[Word, ...]
    key: bool = False
    sale: bool = False
    color: bool = False
    input: bool = False
    must: bool = False


def _prop_defs(leaf: Leaf) -> list[_PropDef]:
    defs = [_PropDef("品牌", "Brand", leaf.brands, key=True, must=True)]
    defs += [_PropDef(a.name, a.name_en, a.values) for a in leaf.attr_props]
    defs += [
        _PropDef(s.name, s.name_en, s.values, sale=True, color=s.color) for s in leaf.sale_props
    ]
    if leaf.model_no:
        defs.append(_PropDef("货号", "Model no.", (), input=True))
    return defs


class _TreeSync:
    """Matches the demo tree against existing rows (by parent and Chinese name) and collects
    rows for whatever is missing, parents before children."""

    def __init__(
        self, ids: Ids, cats: dict[Any, Any], props: dict[Any, Any], values: dict[Any, Any]
    ):
        self.ids, self.cats, self.props, self.values = ids, cats, props, values
        self.new: dict[str, list[dict[str, Any]]] = {
            "categories": [],
            "item_props": [],
            "prop_values": [],
        }
        self.leaves: dict[str, LeafInfo] = {}
        self.count = 0

    def walk(
        self, nodes: tuple[Node | Leaf | data.Family, ...], parent: int | None, ppath: str
    ) -> None:
        for sort, node in enumerate(nodes):
            cid, path = self.category(parent, ppath, node, sort)
            if isinstance(node, Leaf):
                self.leaves[node.key] = self.leaf_props(node, cid)
            else:
                self.walk(node.children, cid, path)

    def category(
        self, parent: int | None, ppath: str, node: Node | Leaf | data.Family, sort: int
    ) -> tuple[int, str]:
        self.count += 1
        found: tuple[int, str] | None = self.cats.get((parent, node.name))
        if found:
            return found
        cid = self.ids.take("categories")
        path = f"{ppath}{cid}/"  # materialised path, the row's own id included
        self.new["categories"].append(
            {
                "id": cid,
                "parent_id": parent,
                "name": node.name,
                "name_en": node.name_en,
                "is_parent": not isinstance(node, Leaf),
                "sort_order": sort,
                "status": "normal",
                "path": path,
            }
        )
        self.cats[(parent, node.name)] = (cid, path)
        return cid, path

    def leaf_props(self, leaf: Leaf, cid: int) -> LeafInfo:
        made = [(d, *self.prop(cid, d, sort)) for sort, d in enumerate(_prop_defs(leaf))]
        _, brand_pid, brand_vids = made[0]
        info = LeafInfo(leaf, cid, brand_pid, brand_vids)
        sales = iter(leaf.sale_props)
        for d, pid, vids in made[1:]:
            if d.sale:
                info.sale.append(SaleInfo(pid, vids, next(sales)))
            elif d.input:
                info.model_prop_id = pid
            else:
                info.attrs.append((pid, vids))
        return info

    def prop(self, cid: int, d: _PropDef, sort: int) -> tuple[int, list[int]]:
        pid: int | None = self.props.get((cid, d.name))
        if pid is None:
            pid = self.props[(cid, d.name)] = self.ids.take("item_props")
            self.new["item_props"].append(
                {
                    "id": pid,
                    "category_id": cid,
                    "name": d.name,
                    "name_en": d.name_en,
                    "is_key_prop": d.key,
                    "is_sale_prop": d.sale,
                    "is_color_prop": d.color,
                    "is_enum_prop": not d.input,
                    "is_input_prop": d.input,
                    "must": d.must,
                    "multi": False,
                    "sort_order": sort,
                }
            )
        return pid, [self.value(pid, w, sort) for sort, w in enumerate(d.values)]

    def value(self, pid: int, word: Word, sort: int) -> int:
        vid: int | None = self.values.get((pid, word.zh))
        if vid is None:
            vid = self.values[(pid, word.zh)] = self.ids.take("prop_values")
            self.new["prop_values"].append(
                {"id": vid, "prop_id": pid, "name": word.zh, "name_en": word.en, "sort_order": sort}
            )
        return vid


async def ensure_category_tree(conn: AsyncConnection, ids: Ids) -> CategoryTree:
    """Create whatever part of the demo category tree (with its properties and values) is
    missing, matching existing rows by parent and Chinese name, and return its ids."""
    cats, props, values = T["categories"], T["item_props"], T["prop_values"]
    sync = _TreeSync(
        ids,
        {
            (r.parent_id, r.name): (r.id, r.path)
            for r in await conn.execute(
                select(cats.c.id, cats.c.parent_id, cats.c.name, cats.c.path)
            )
        },
        {
            (r.category_id, r.name): r.id
            for r in await conn.execute(select(props.c.id, props.c.category_id, props.c.name))
        },
        {
            (r.prop_id, r.name): r.id
            for r in await conn.execute(select(values.c.id, values.c.prop_id, values.c.name))
        },
    )
    sync.walk(FAMILIES, None, "/")
    for table, rows in sync.new.items():
        await insert_rows(conn, table, rows)
    return CategoryTree(sync.leaves, sync.count)


# --- items ------------------------------------------------------------------------------


@dataclass
class PlannedSku:
    values: tuple[int, ...]  # a value index per sale prop, in the leaf's spec order
    price: int
    quantity: int


@dataclass
class PlannedItem:
    leaf: Leaf
    title: Title
    brand: int
    price: int
    quantity: int
    skus: list[PlannedSku]
    status: str
    list_time: datetime
    delist_time: datetime | None
    sold: int
    description: str
    attrs: list[int] = field(default_factory=list)
    model_no: str | None = None
    images: list[str] = field(default_factory=list)  # storage keys, major first


def _tidy(fen: float) -> int:
    """Round a computed price the way shops price: whole yuan, ending in 9 above 100."""
    yuan = max(1, round(fen / 100))
    if yuan >= 100:
        yuan = yuan - yuan % 10 + 9
    return yuan * 100


def _sku_price(leaf: Leaf, base: int, combo: tuple[int, ...], bump: bool) -> int:
    factor = 1.0
    for spec, index in zip(leaf.sale_props, combo, strict=True):
        factor *= spec.factor(index)
        if bump and spec.name_en == "Size" and index >= 3:  # XL and XXL cost a little more
            factor *= 1 + 0.06 * (index - 2)
    return base if factor == 1.0 else _tidy(base * factor)


def _stock(rng: random.Random) -> int:
    return 0 if rng.random() < 0.1 else rng.randint(3, 120)


def plan_skus(rng: random.Random, leaf: Leaf, base: int, *, full: bool) -> list[PlannedSku]:
    """``full``: every colour chosen (2-4 of them) times every other value, the way a real
    apparel listing looks. Otherwise 2-6 random combinations (bulk data)."""
    if not leaf.sale_props:
        return []
    if full:
        choices = [
            sorted(rng.sample(range(len(p.values)), k=min(len(p.values), rng.randint(2, 4))))
            if p.color
            else list(range(len(p.values)))
            for p in leaf.sale_props
        ]
        combos = list(itertools.product(*choices))
    else:
        total = 1
        for p in leaf.sale_props:
            total *= len(p.values)
        want = min(total, rng.randint(2, 6))
        seen: set[tuple[int, ...]] = set()
        while len(seen) < want:
            seen.add(tuple(rng.randrange(len(p.values)) for p in leaf.sale_props))
        combos = sorted(seen)
    bump = rng.random() < 0.4
    skus = [PlannedSku(c, _sku_price(leaf, base, c, bump), _stock(rng)) for c in combos]
    if all(s.quantity == 0 for s in skus):
        skus[0].quantity = rng.randint(5, 50)
    return skus


def plan_item(
    rng: random.Random,
    leaf: Leaf,
    now: datetime,
    *,
    title: Title | None = None,
    full_skus: bool = True,
    instock_rate: float = 0.06,
    facts: bool = True,
) -> PlannedItem:
    brand = rng.randrange(len(leaf.brands))
    if title:  # a hand-written title that names a brand keeps to it
        named = [i for i, b in enumerate(leaf.brands) if b.zh in title.text]
        brand = named[0] if named else brand
    else:
        title = data.make_title(rng, leaf, leaf.brands[brand])
    base = data.price_fen(rng, *leaf.price)
    skus = plan_skus(rng, leaf, base, full=full_skus)
    listed = now - timedelta(seconds=rng.uniform(600, LIST_WINDOW.total_seconds()))
    instock = rng.random() < instock_rate
    delisted = listed + (now - listed) * rng.uniform(0.3, 0.9) if instock else None
    attrs = [rng.randrange(len(a.values)) for a in leaf.attr_props]
    model_no = (
        f"{leaf.key[:2].upper()}{now:%y}-{rng.randint(1000, 9999)}" if leaf.model_no else None
    )
    parts = data.DescriptionParts(title.text, leaf.blurb or leaf.name_en, leaf.brands[brand])
    if facts:
        parts.facts += [
            (f"{a.name} {a.name_en}", f"{a.values[i].zh} {a.values[i].en}")
            for a, i in zip(leaf.attr_props, attrs, strict=True)
        ]
        for n, sale in enumerate(leaf.sale_props):  # the values this item's SKUs offer
            offered = sorted({sku.values[n] for sku in skus})
            if offered:
                names = " / ".join(sale.values[i].zh for i in offered)
                parts.facts.append((f"{sale.name} {sale.name_en}", names))
        if model_no:
            parts.facts.append(("货号 Model no.", model_no))
    return PlannedItem(
        leaf=leaf,
        title=title,
        brand=brand,
        price=min((s.price for s in skus), default=base),
        quantity=sum(s.quantity for s in skus) if skus else rng.randint(10, 999),
        skus=skus,
        status="instock" if instock else "onsale",
        list_time=listed,
        delist_time=delisted,
        sold=min(50_000, int(rng.lognormvariate(3.2, 1.6))),
        description=data.make_description(parts),
        attrs=attrs,
        model_no=model_no,
    )


class ShopRef(NamedTuple):
    shop_id: int
    seller_id: int
    state: str
    city: str


@dataclass
class ItemRows:
    items: list[dict[str, Any]] = field(default_factory=list)
    item_images: list[dict[str, Any]] = field(default_factory=list)
    item_prop_values: list[dict[str, Any]] = field(default_factory=list)
    skus: list[dict[str, Any]] = field(default_factory=list)

    def tables(self) -> Iterator[tuple[str, list[dict[str, Any]]]]:
        yield from (
            ("items", self.items),
            ("item_images", self.item_images),
            ("item_prop_values", self.item_prop_values),
            ("skus", self.skus),
        )


def _sku_properties(info: LeafInfo, combo: tuple[int, ...]) -> str:
    pairs = sorted((s.prop_id, s.value_ids[i]) for s, i in zip(info.sale, combo, strict=True))
    return ";".join(f"{p}:{v}" for p, v in pairs)


def add_item_rows(
    rows: ItemRows,
    ids: Ids,
    item: PlannedItem,
    info: LeafInfo,
    shop: ShopRef,
    storage: Storage,
) -> int:
    """Append the rows of one planned item; returns its id."""
    item_id = ids.take("items")
    created = item.list_time - timedelta(hours=6)
    rows.items.append(
        {
            "id": item_id,
            "shop_id": shop.shop_id,
            "seller_id": shop.seller_id,
            "category_id": info.category_id,
            "title": item.title.text,
            "search_text": search_text(item.title.text),
            "price": item.price,
            "quantity": item.quantity,
            "description": item.description,
            "approve_status": item.status,
            "list_time": item.list_time,
            "delist_time": item.delist_time,
            "sold_quantity": item.sold,
            "outer_id": item.model_no,
            "location_state": shop.state,
            "location_city": shop.city,
            "pic_url": storage.url(item.images[0]) if item.images else None,
            "created_at": created,
            "modified_at": item.delist_time or item.list_time,
        }
    )
    for pos, key in enumerate(item.images):
        rows.item_images.append(
            {
                "id": ids.take("item_images"),
                "item_id": item_id,
                "url": storage.url(key),
                "position": pos,
            }
        )
    props: list[tuple[int, int | None, str | None]] = [
        (info.brand_prop_id, info.brand_value_ids[item.brand], None)
    ]
    props += [(pid, vids[i], None) for (pid, vids), i in zip(info.attrs, item.attrs, strict=True)]
    if info.model_prop_id and item.model_no:
        props.append((info.model_prop_id, None, item.model_no))
    for pid, vid, txt in props:
        rows.item_prop_values.append(
            {
                "id": ids.take("item_prop_values"),
                "item_id": item_id,
                "prop_id": pid,
                "value_id": vid,
                "text": txt,
            }
        )
    for n, sku in enumerate(item.skus):
        rows.skus.append(
            {
                "id": ids.take("skus"),
                "item_id": item_id,
                "properties": _sku_properties(info, sku.values),
                "price": sku.price,
                "quantity": sku.quantity,
                "outer_id": f"{item.model_no}-{n + 1:02d}" if item.model_no else None,
                "barcode": None,
                "status": "normal",
                "created_at": created,
                "modified_at": created,
            }
        )
    return item_id


class SqliteBulkMode:
    """Faster bulk inserts on SQLite, undone before commit.

    The FTS5 insert trigger on items flushes the search index once per inserted row, which
    makes it several times slower than the items insert itself; so the trigger is dropped
    (inside the transaction: a failure rolls the drop back), the new titles are indexed with
    one INSERT … SELECT, and the trigger is created again from its own stored SQL. A larger
    page cache keeps the items indexes in memory meanwhile.
    """

    TRIGGER = "items_search_ai"

    def __init__(self, conn: AsyncConnection, cache_size: int = 0, trigger: str | None = None):
        self.conn, self.cache_size, self.trigger = conn, cache_size, trigger

    @classmethod
    async def enter(cls, conn: AsyncConnection) -> SqliteBulkMode:
        if conn.dialect.name != "sqlite":
            return cls(conn)
        cache_size = (await conn.exec_driver_sql("PRAGMA cache_size")).scalar_one()
        await conn.exec_driver_sql("PRAGMA cache_size=-262144")  # 256 MiB
        trigger = (
            await conn.execute(
                text("SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = :n"),
                {"n": cls.TRIGGER},
            )
        ).scalar()
        if trigger:
            await conn.exec_driver_sql(f"DROP TRIGGER {cls.TRIGGER}")
        return cls(conn, cache_size, trigger)

    async def leave(self, first_item_id: int) -> None:
        if self.conn.dialect.name != "sqlite":
            return
        if self.trigger:
            await self.conn.execute(
                text(
                    "INSERT INTO item_search(rowid, search_text) "
                    "SELECT id, search_text FROM items WHERE id >= :first ORDER BY id"
                ),
                {"first": first_item_id},
            )
            await self.conn.exec_driver_sql(self.trigger)
        await self.conn.exec_driver_sql(f"PRAGMA cache_size={int(self.cache_size)}")
