"""kit.cache: entries lapse with their time to live, with any change to a watched row made
in this process (flushed, bulk, committed), and belong to one database."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from mercato.kit import cache
from mercato.kit.cache import TTLCache, Watch
from mercato.kit.db import Database
from mercato.models import Role, User
from tests.factories.accounts import make_user

USERS = Watch(User)


def test_an_entry_lives_its_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: now[0])
    kept: TTLCache[str] = TTLCache(Watch(User), ttl_s=2)
    kept.put("k", "v", kept.watch.generation)
    now[0] += 1.9
    assert kept.get("k") == "v"
    now[0] += 0.2
    assert kept.get("k") is None


def test_a_value_read_before_a_change_is_not_kept() -> None:
    kept: TTLCache[str] = TTLCache(Watch(User), ttl_s=60)
    seen = kept.watch.generation
    kept.watch.bump()  # a change landed while the value was being read
    kept.put("k", "stale", seen)
    assert kept.get("k") is None


def test_a_zero_ttl_keeps_nothing() -> None:
    kept: TTLCache[str] = TTLCache(Watch(User), ttl_s=0)
    kept.put("k", "v", kept.watch.generation)
    assert kept.get("k") is None


async def test_adding_changing_and_bulk_updating_rows_move_the_watch(db: Database) -> None:
    before = USERS.generation
    async with db.write() as session:
        user = await make_user(session, "cache_u1", {Role.seller})  # added
    added = USERS.generation
    assert added > before
    async with db.write() as session:
        row = await session.get(User, user.id)
        assert row is not None
        row.status = "suspended"  # changed
    changed = USERS.generation
    assert changed > added
    async with db.write() as session:
        await session.execute(update(User).where(User.id == user.id).values(status="normal"))
    assert USERS.generation > changed


async def test_a_read_moves_nothing(db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "cache_u2", {Role.seller})
    before = USERS.generation
    async with db.read() as session:
        assert await session.get(User, user.id) is not None
    assert USERS.generation == before


async def test_each_database_has_its_own_caches(db: Database) -> None:
    other = Database(db.url.render_as_string(hide_password=False))
    try:
        ours = cache.cache_in(db.caches, "test.users", USERS, 60)
        ours.put("k", "v", USERS.generation)
        async with db.read() as mine, other.read() as theirs:
            assert cache.cache_in(cache.caches_of(mine), "test.users", USERS, 60).get("k") == "v"
            assert cache.cache_in(cache.caches_of(theirs), "test.users", USERS, 60).get("k") is None
    finally:
        await other.dispose()


async def test_kept_rows_leave_their_unit_of_work(db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "cache_u3", {Role.seller})
    async with db.read() as session:
        row = await session.get(User, user.id)
        assert row is not None
        cache.keep(session, row)
        assert row not in session
    assert row.has_role(Role.seller)  # its roles came along, loaded
