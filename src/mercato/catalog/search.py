"""Search over items on sale, done by the database's own text index.

Both engines index ``items.search_text`` by trigrams; ``mercato.kit.searchtext`` says what
that text holds and which substring (the "needle") each query term must match, so that terms of
any length, Chinese or English, are served by the index.

SQLite (3.35 or later): the FTS5 table ``item_search`` (trigram tokenizer, kept in step with
``items`` by triggers); all needles go into one MATCH expression; ranking is bm25.

PostgreSQL: ``search_text LIKE '%needle%'`` per term, served by the pg_trgm GIN index on
``search_text``; ranking is trigram similarity of the title to the whole query.
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
from sqlalchemy.sql import Select

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
    sqlite = session.get_bind().dialect.name == "sqlite"
    terms = query.terms()
    # Scoring every hit is most of a search's cost; other sorts do not need the score.
    found, rank = _text_match(terms, sqlite, ranked=query.sort == "relevance")
    ordered = found.where(*filters).order_by(*_order(query.sort, rank), Item.id.desc())
    if terms:
        # The text match has to visit every hit to rank them anyway, so the same pass
        # counts them: the full-text query runs once, not twice.
        ordered = ordered.add_columns(func.count().over().label("total"))
    rows = (
        await session.execute(
            ordered.options(defer(Item.description, raiseload=True), defer(Item.search_text))
            .offset(page.offset)
            .limit(page.size)
        )
    ).all()
    if terms and rows:
        total = rows[0].total
    else:  # browsing walks an index in sort order and stops at the page; counting is apart
        counted = _text_match(terms, sqlite, ranked=False)[0].where(*filters)
        total = await session.scalar(select(func.count()).select_from(counted.subquery()))
    return Page(items=[row[0] for row in rows], total=total or 0, request=page)


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


def _text_match(terms: list[str], sqlite: bool, *, ranked: bool) -> tuple[Select[Item], list[Any]]:
    """Items matching every term, and the ORDER BY terms of their text relevance (skipped
    when not ``ranked``: counting needs no score)."""
    if not terms:
        return select(Item), []
    return _sqlite_match(terms, ranked) if sqlite else _postgres_match(terms, ranked)


def _sqlite_match(terms: list[str], ranked: bool) -> tuple[Select[Item], list[Any]]:
    # MATERIALIZED makes the planner run MATCH once and join its hits to items. Joined
    # directly, it may instead walk items and run the full-text query once per row.
    score = func.bm25(_FTS_TABLE) if ranked else literal(0)
    hits = (
        select(item_search.c.rowid.label("id"), score.label("rank"))
        .where(_FTS_TABLE.op("MATCH")(fts_expression(terms)))
        .cte("hits")
        .prefix_with("MATERIALIZED")
    )
    found = select(Item).join(hits, hits.c.id == Item.id)
    return found, [hits.c.rank] if ranked else []  # bm25: lower is better


def _postgres_match(terms: list[str], ranked: bool) -> tuple[Select[Item], list[Any]]:
    found = select(Item).where(
        *(Item.search_text.like(_like_pattern(needle(term)), escape="\\") for term in terms)
    )
    if not ranked:
        return found, []
    similarity = func.similarity(func.lower(Item.title), " ".join(terms).lower())
    return found, [similarity.desc()]


def fts_expression(terms: list[str]) -> str:
    """An FTS5 query requiring every term's needle as a phrase: ``"floral" AND " 茶 "``.
    Quoting makes operators and punctuation in user input plain text."""
    return " AND ".join('"' + needle(term).replace('"', '""') + '"' for term in terms)


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _order(sort: Sort, rank: list[Any]) -> list[Any]:
    newest = Item.list_time.desc().nulls_last()
    if sort == "price_asc":
        return [Item.price.asc()]
    if sort == "price_desc":
        return [Item.price.desc()]
    if sort == "sales":
        return [Item.sold_quantity.desc()]
    if sort == "newest":
        return [newest]
    # relevance; with no text score (browsing, or short terms on SQLite) best sellers lead
    return [*rank, Item.sold_quantity.desc(), newest]
