"""Short-lived in-process caches of rows that hot paths read on every request and that
rarely change (the gateway's apps and sessions, a category's properties).

A cache belongs to one ``Database`` object (two databases in one process never share
rows) and watches a set of mapped classes. An entry is dropped when:

- **a watched row changes in this process**: a flush that adds, changes or deletes a watched row,
  or a bulk UPDATE/DELETE of a watched class, bumps the watch's generation once at the flush
  and again after the commit, so a lookup that raced the commit cannot keep what it read
  before it. Every entry of an older generation is stale, so the change is seen by the very
  next request of this process;
- **its time to live passes**: the bound on how long *another* process may still answer
  from what it read before a change (docs/adr/0003-in-process-caches.md).

Cached rows are expunged from their session before they are kept (with the collections
their relationships cascade to), so no unit of work can expire or refresh them while other
requests read them. Callers only read them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import chain
from typing import Any, Generic, TypeVar

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import ORMExecuteState, Session

V = TypeVar("V")
CACHES_INFO_KEY = "mercato.caches"  # Session.info key of its Database's caches
_CHANGED_INFO_KEY = "mercato.cache_watches_changed"
MAX_ENTRIES = 20_000  # a flood of distinct keys empties a cache instead of growing it


class Watch:
    """A generation count of changes to rows of ``classes`` made in this process."""

    def __init__(self, *classes: type) -> None:
        self.classes = classes
        self.generation = 0
        _WATCHES.append(self)

    def covers(self, cls: type) -> bool:
        return issubclass(cls, self.classes)

    def bump(self) -> None:
        self.generation += 1


_WATCHES: list[Watch] = []


def _touched(session: Session, classes: list[type]) -> None:
    changed = session.info.setdefault(_CHANGED_INFO_KEY, set())
    for watch in _WATCHES:
        if any(watch.covers(cls) for cls in classes):
            watch.bump()
            changed.add(watch)


@event.listens_for(Session, "after_flush")
def _after_flush(session: Session, _context: Any) -> None:
    _touched(session, [type(row) for row in chain(session.new, session.dirty, session.deleted)])


@event.listens_for(Session, "do_orm_execute")
def _on_bulk(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and state.bind_mapper is not None:
        _touched(state.session, [state.bind_mapper.class_])


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for watch in session.info.pop(_CHANGED_INFO_KEY, ()):
        watch.bump()


@dataclass(frozen=True)
class _Entry(Generic[V]):
    value: V
    generation: int
    until: float


class TTLCache(Generic[V]):
    """Values by key, each kept ``ttl_s`` seconds or until its watch moves on."""

    def __init__(self, watch: Watch, ttl_s: float) -> None:
        self.watch = watch
        self.ttl_s = ttl_s
        self._entries: dict[Any, _Entry[V]] = {}

    def get(self, key: Any) -> V | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.generation != self.watch.generation or entry.until <= time.monotonic():
            del self._entries[key]
            return None
        return entry.value

    def put(self, key: Any, value: V, seen_generation: int) -> None:
        """Keep ``value``, read while the watch stood at ``seen_generation``: if a change
        happened meanwhile the value may predate it, and it is not kept."""
        if self.ttl_s <= 0 or seen_generation != self.watch.generation:
            return
        if len(self._entries) >= MAX_ENTRIES:
            self._entries.clear()
        self._entries[key] = _Entry(value, seen_generation, time.monotonic() + self.ttl_s)


def caches_of(session: AsyncSession) -> dict[str, TTLCache[Any]]:
    """The caches of the database ``session`` belongs to (``Database.caches``)."""
    caches: dict[str, TTLCache[Any]] = session.info.setdefault(CACHES_INFO_KEY, {})
    return caches


def cache_in(
    caches: dict[str, TTLCache[Any]], name: str, watch: Watch, ttl_s: float
) -> TTLCache[Any]:
    """The cache ``name`` among a database's ``caches``, made on first use."""
    cache = caches.get(name)
    if cache is None or cache.ttl_s != ttl_s:
        cache = caches[name] = TTLCache(watch, ttl_s)
    return cache


def keep(session: AsyncSession, *rows: object) -> None:
    """Detach rows about to be cached from their unit of work (see the module doc)."""
    for row in rows:
        if row in session:
            session.expunge(row)
