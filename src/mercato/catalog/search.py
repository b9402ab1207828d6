"""Search over items on sale, done by the database's own text index.

Both engines index ``items.search_text`` by trigrams; ``mercato.kit.searchtext`` says what
that text holds and which substring (the "needle") each query term must match, so that terms of
any length, Chinese or English, are served by the index.

SQLite (3.35 or later): the FTS5 table ``item_search`` (trigram tokenizer, kept in step with
``items`` by triggers); all needles go into one MATCH expression; ranking is bm25.

PostgreSQL: ``search_text LIKE '%needle%'`` per term, served by the pg_trgm GIN index on
``search_text``; ranking is trigram similarity of the title to the whole query.

On both, the hits are materialised first and then joined, filtered, sorted and counted in one
pass over narrow rows; the page's items are loaded by id afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    Integer,
    String,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from mercato.catalog.schemas import ONSALE
from mercato.kit.pagination import Page, PageRequest
from mercato.kit.searchtext import needle
from mercato.models import Category, Item

MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = 100
MAX_TERMS = 10

Sort = Literal["relevance", "price_asc", "price_desc", "sales", "newest"]

item_search = table("item_search", column("rowid", Integer), column("title", String))
_FTS_TABLE: ColumnClause[Any] = literal_column(
    "item_search"
)  # FTS5 takes the table name as MATCH's left side


@dataclass(frozen=True)
class SearchQuery:
    q: str = ""
    category_id: int | None = None  # the whole subtree
    price_min: int | None = None  # fen
    price_max: int | None = None  # fen
    shop_id: int | None = None
    sort: Sort = "relevance"
    page: int = 1
    size: int = 40

    def page_request(self) -> PageRequest:
        # Clamped rather than refused: these come straight from URLs people edit.
        return PageRequest(page=max(1, self.page), size=min(max(1, self.size), MAX_PAGE_SIZE))

    def terms(self) -> list[str]:
        return self.q[:MAX_QUERY_CHARS].split()[:MAX_TERMS]


async def search_items(session: AsyncSession, query: SearchQuery) -> Page[Item]:
    """Items on sale matching the query, one page of them, with the total count.

    The items come without ``description`` (it is large and lists never show it);
    reading it raises instead of lazily loading.
    """
    page = query.page_request()
    filters = await _filters(session, query)
    if filters is None:
        return Page(items=[], total=0, request=page)
    terms = query.terms()
    if terms:
        ids, total = await _search_page(session, query, terms, filters, page)
    else:
        ids, total = await _browse_page(session, query, filters, page)
    return Page(items=await _items_in_order(session, ids), total=total, request=page)


async def _search_page(
    session: AsyncSession,
    query: SearchQuery,
    terms: list[str],
    filters: list[ColumnElement[bool]],
    page: PageRequest,
) -> tuple[list[int], int]:
    """The hits are found first, by the text index alone, and materialised with their sort
    keys; then one pass over those narrow rows sorts, pages and counts them. Hits first keeps
    the planner from walking a sort index in the hope of meeting matches early (phones
    sorted by price from the cheapest end meet none for a long while)."""
    # Scoring every hit is most of a search's cost; other sorts do not need the score.
    ranked = query.sort == "relevance"
    sqlite = session.get_bind().dialect.name == "sqlite"
    hits = (_sqlite_hits if sqlite else _postgres_hits)(terms, ranked, filters)
    rank = [hits.c.rank.asc() if sqlite else hits.c.rank.desc()] if ranked else []
    ordered = (
        select(hits.c.id, func.count().over().label("total"))
        .order_by(*_order(query.sort, hits.c, rank), hits.c.id.desc())
        .offset(page.offset)
        .limit(page.size)
    )
    rows = (await session.execute(ordered)).all()
    if rows or page.offset == 0:
        return [r.id for r in rows], rows[0].total if rows else 0
    # Past the last page: no row carries the count.
    return [], int(await session.scalar(select(func.count()).select_from(hits)) or 0)


async def _browse_page(
    session: AsyncSession, query: SearchQuery, filters: list[ColumnElement[bool]], page: PageRequest
) -> tuple[list[int], int]:
    """No terms: the page walks an index in sort order and stops, and the count is apart."""
    ordered = (
        select(Item.id)
        .where(*filters)
        .order_by(*_order(query.sort, Item, []), Item.id.desc())
        .offset(page.offset)
        .limit(page.size)
    )
    ids = list(await session.scalars(ordered))
    total = await session.scalar(select(func.count()).select_from(Item).where(*filters))
    return ids, int(total or 0)


_SORT_KEYS = (Item.id, Item.price, Item.sold_quantity, Item.list_time)


def _sqlite_hits(terms: list[str], ranked: bool, filters: list[ColumnElement[bool]]) -> Any:
    # MATERIALIZED makes the planner run MATCH once and then look the hits up in items.
    score = func.bm25(_FTS_TABLE) if ranked else literal(0)  # bm25: lower is better
    fts = (
        select(item_search.c.rowid.label("id"), score.label("rank"))
        .where(_FTS_TABLE.op("MATCH")(fts_expression(terms)))
        .cte("fts")
        .prefix_with("MATERIALIZED")
    )
    return (
        select(*_SORT_KEYS, fts.c.rank).join(fts, fts.c.id == Item.id).where(*filters).cte("hits")
    )


def _postgres_hits(terms: list[str], ranked: bool, filters: list[ColumnElement[bool]]) -> Any:
    title = func.lower(Item.title)
    score = func.similarity(title, " ".join(terms).lower()) if ranked else literal(0)
    likes = [Item.search_text.like(_like_pattern(needle(t)), escape="\\") for t in terms]
    return (
        select(*_SORT_KEYS, score.label("rank"))
        .where(*likes, *filters)
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )


async def _items_in_order(session: AsyncSession, ids: list[int]) -> list[Item]:
    if not ids:
        return []
    found = await session.scalars(
        select(Item)
        .where(Item.id.in_(ids))
        .options(defer(Item.description, raiseload=True), defer(Item.search_text))
    )
    by_id = {item.id: item for item in found}
    return [by_id[i] for i in ids]


async def _filters(session: AsyncSession, query: SearchQuery) -> list[ColumnElement[bool]] | None:
    """The non-text conditions; None when they cannot match anything."""
    filters: list[ColumnElement[bool]] = [Item.approve_status == ONSALE]
    if query.category_id is not None:
        path = await session.scalar(select(Category.path).where(Category.id == query.category_id))
        if path is None:
            return None
        subtree = select(Category.id).where(Category.path.startswith(path, autoescape=True))
        filters.append(Item.category_id.in_(subtree))
    if query.price_min is not None:
        filters.append(Item.price >= query.price_min)
    if query.price_max is not None:
        filters.append(Item.price <= query.price_max)
    if query.shop_id is not None:
        filters.append(Item.shop_id == query.shop_id)
    return filters


def fts_expression(terms: list[str]) -> str:
    """An FTS5 query requiring every term's needle as a phrase: ``"floral" AND " 茶 "``.
    Quoting makes operators and punctuation in user input plain text."""
    return " AND ".join('"' + needle(term).replace('"', '""') + '"' for term in terms)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _order(sort: Sort, keys: Any, rank: list[Any]) -> list[Any]:
    """ORDER BY terms over ``keys``: the Item class, or a CTE's columns with the same names."""
    newest = keys.list_time.desc().nulls_last()
    if sort == "price_asc":
        return [keys.price.asc()]
    if sort == "price_desc":
        return [keys.price.desc()]
    if sort == "sales":
        return [keys.sold_quantity.desc()]
    if sort == "newest":
        return [newest]
    # relevance; with no terms to score, best sellers lead
    return [*rank, keys.sold_quantity.desc(), newest]
