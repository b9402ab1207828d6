"""Flow control (TOP-PROTOCOL.md §6.3): the daily quota, app × method and app × user
frequency, windows that free again, Redis shared across limiters, and a Redis outage."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import secrets
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from mercato.gateway import hooks
from mercato.gateway.flowcontrol import (
    SUB_APP_METHOD,
    SUB_APP_USER,
    SUB_DAILY,
    FlowControl,
    FlowLimited,
    seconds_to_midnight,
    tier_table,
)
from mercato.kit.clock import clock, utcnow
from mercato.models import App
from tests.gateway.conftest import World, error_of, signed, system

SELLER = "mercato.test.seller.echo"
BUYER = "mercato.test.buyer.echo"
GMT8 = ZoneInfo("Asia/Shanghai")
BAN = re.compile(r"^This ban will last for (\d+) more seconds$")
REDIS_ENV = "MERCATO_TEST_REDIS_URL"
CLOSED_PORT_URL = "redis://127.0.0.1:1"


def use_limits(app: FastAPI, overrides: Mapping[str, Mapping[str, int | None]]) -> FlowControl:
    """Swap the app's flow control for one with these tier overrides."""
    flow = FlowControl(tier_table(overrides), zone=GMT8)
    hooks.attach(app.state.db, flow=flow, calls=app.state.call_log)
    return flow


async def call(client: httpx.AsyncClient, world: World, method: str, token: str) -> httpx.Response:
    params = signed(system(world, method, session=token, title="t"), world.secret)
    return await client.post("/router/rest", data=params)


def ban_seconds(err: dict[str, object]) -> int:
    match = BAN.match(str(err["sub_msg"]))
    assert match, err
    return int(match[1])


def dev_app(app_id: int = 1, *, status: str = "development", tier: str = "default") -> App:
    return App(id=app_id, app_key=str(90000000 + app_id), status=status, tier=tier)


@pytest.fixture
def restore_clock() -> AsyncIterator[None]:
    yield  # type: ignore[misc]
    clock.reset()


# --- the daily quota -------------------------------------------------------------------


async def test_development_app_gets_5000_calls_a_day() -> None:
    # given a development app on the built-in tiers (its own tier is ignored until online)
    flow = FlowControl(zone=GMT8)
    app = dev_app(tier="unlimited")
    for i in range(5_000):
        await flow.check(app, f"m{i}", None)  # one call per method: only the quota counts
    # when the 5,001st call comes
    with pytest.raises(FlowLimited) as refused:
        await flow.check(app, "another", None)
    # then code 7, the daily sub-code, banned until GMT+8 midnight
    exc = refused.value
    assert (exc.code, exc.sub_code) == (7, SUB_DAILY)
    expected = seconds_to_midnight(utcnow(), GMT8)
    assert abs(exc.retry_after - expected) <= 2
    assert exc.sub_msg == f"This ban will last for {exc.retry_after} more seconds"
    # and the same app online on the unlimited tier is not limited
    await flow.check(dev_app(2, status="online", tier="unlimited"), "m0", None)


async def test_daily_quota_over_http_and_reset_at_gmt8_midnight(
    app: FastAPI, client: httpx.AsyncClient, world: World, restore_clock: None
) -> None:
    # given a development tier of 3 calls a day, 10 minutes before midnight GMT+8
    use_limits(app, {"development": {"daily": 3}})
    now = utcnow()
    local = now.astimezone(GMT8)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), GMT8)
    clock.advance(midnight - timedelta(minutes=10) - now)
    for _ in range(3):
        assert "error_response" not in (await call(client, world, SELLER, world.seller_token)).text
    # when the 4th call comes
    response = await call(client, world, SELLER, world.seller_token)
    # then code 7 with the ban message; N is the time to midnight
    err = error_of(response)
    assert (err["code"], err["msg"], err["sub_code"]) == (7, "App Call Limited", SUB_DAILY)
    assert 595 <= ban_seconds(err) <= 601
    assert response.headers["Retry-After"] == str(ban_seconds(err))
    # and after midnight GMT+8 (not UTC) the quota is fresh
    clock.advance(timedelta(minutes=11))
    assert "error_response" not in (await call(client, world, SELLER, world.seller_token)).text


async def test_quota_is_per_app(app: FastAPI, client: httpx.AsyncClient, world: World) -> None:
    use_limits(app, {"development": {"daily": 1}})
    assert "error_response" not in (await call(client, world, SELLER, world.seller_token)).text
    assert error_of(await call(client, world, SELLER, world.seller_token))["code"] == 7
    # the other app (its own counter) still has its call
    other = World(
        app=world.other_app,
        secret=world.other_secret,
        seller_token=world.other_token,
        buyer_token="",
        other_app=world.app,
        other_secret=world.secret,
        other_token="",
    )
    assert "error_response" not in (await call(client, other, SELLER, other.seller_token)).text


# --- frequency -------------------------------------------------------------------------


async def test_app_method_frequency(app: FastAPI, client: httpx.AsyncClient, world: World) -> None:
    # given 2 calls a second per method
    use_limits(app, {"development": {"per_method_per_second": 2, "per_user_per_second": None}})
    for _ in range(2):
        assert "error_response" not in (await call(client, world, SELLER, world.seller_token)).text
    # when a third call of the same method comes within the second
    err = error_of(await call(client, world, SELLER, world.seller_token))
    # then app × method frequency, a ban of about a second
    assert (err["code"], err["sub_code"]) == (7, SUB_APP_METHOD)
    assert ban_seconds(err) == 1
    # and another method is not affected
    assert "error_response" not in (await call(client, world, BUYER, world.buyer_token)).text


async def test_app_user_frequency(app: FastAPI, client: httpx.AsyncClient, world: World) -> None:
    # given 2 calls a second per user, whatever the method
    use_limits(app, {"development": {"per_method_per_second": None, "per_user_per_second": 2}})
    for _ in range(2):
        assert "error_response" not in (await call(client, world, SELLER, world.seller_token)).text
    err = error_of(await call(client, world, SELLER, world.seller_token))
    assert (err["code"], err["sub_code"]) == (7, SUB_APP_USER)
    assert ban_seconds(err) == 1
    # another user of the same app still has calls
    assert "error_response" not in (await call(client, world, BUYER, world.buyer_token)).text


async def test_json_face_answers_429_with_retry_after(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    use_limits(app, {"development": {"per_method_per_second": 1}})
    headers = {"Authorization": f"Bearer {world.seller_token}"}
    first = await client.post(f"/api/v1/{SELLER}", json={"title": "a"}, headers=headers)
    assert first.status_code == 200, first.text
    second = await client.post(f"/api/v1/{SELLER}", json={"title": "a"}, headers=headers)
    assert second.status_code == 429
    assert second.json()["detail"] == "This ban will last for 1 more seconds"
    assert second.headers["Retry-After"] == "1"


async def test_window_frees_after_a_second() -> None:
    flow = FlowControl(tier_table({"development": {"per_method_per_second": 1}}), zone=GMT8)
    app = dev_app()
    await flow.check(app, "m", 7)
    with pytest.raises(FlowLimited) as refused:
        await flow.check(app, "m", 7)
    assert refused.value.retry_after == 1
    await asyncio.sleep(1.05)
    await flow.check(app, "m", 7)  # a new window


def test_tier_table_overrides_and_validation() -> None:
    table = tier_table({"default": {"daily": 10}, "partner": {"per_user_per_second": 3}})
    assert table["default"].daily == 10
    assert table["default"].per_method_per_second == 500  # the rest kept
    assert table["partner"].per_user_per_second == 3  # a new tier starts from default
    assert table["partner"].daily == table["default"].daily
    with pytest.raises(ValueError):
        tier_table({"default": {"hourly": 1}})


def test_unknown_tier_uses_default() -> None:
    flow = FlowControl(zone=GMT8)
    assert flow.tier_of(dev_app(status="online", tier="nope")) == flow.tiers["default"]
    assert flow.tier_of(dev_app(status="reviewing", tier="large")) == flow.tiers["development"]


def test_seconds_to_midnight_is_gmt8() -> None:
    # 15:59:30 UTC is 23:59:30 GMT+8
    assert seconds_to_midnight(datetime(2026, 3, 1, 15, 59, 30, tzinfo=UTC), GMT8) == 30
    assert seconds_to_midnight(datetime(2026, 3, 1, 16, 0, 0, tzinfo=UTC), GMT8) == 86400


# --- Redis -----------------------------------------------------------------------------


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    url = os.environ[REDIS_ENV]  # redis-marked tests are collected only when it is set
    prefix = f"mercato-test-flow-{secrets.token_hex(6)}"
    yield prefix
    await FlowControl(zone=GMT8, redis_url=url, key_prefix=prefix).reset()


@pytest.mark.redis
async def test_redis_counters_are_shared(redis_prefix: str) -> None:
    # given two limiters (two server processes) on one Redis
    url = os.environ[REDIS_ENV]
    tiers = tier_table({"development": {"per_method_per_second": None, "daily": 3}})
    one = FlowControl(tiers, zone=GMT8, redis_url=url, key_prefix=redis_prefix)
    two = FlowControl(tiers, zone=GMT8, redis_url=url, key_prefix=redis_prefix)
    assert one.shared and two.shared
    app = dev_app()
    # when they share 3 calls
    await one.check(app, "m", None)
    await two.check(app, "m", None)
    await one.check(app, "m", None)
    # then the fourth is refused whichever process takes it
    with pytest.raises(FlowLimited) as refused:
        await two.check(app, "m", None)
    assert refused.value.sub_code == SUB_DAILY
    assert one.redis_failures == two.redis_failures == 0


@pytest.mark.redis
async def test_redis_frequency_window(redis_prefix: str) -> None:
    url = os.environ[REDIS_ENV]
    tiers = tier_table({"development": {"per_method_per_second": 1}})
    one = FlowControl(tiers, zone=GMT8, redis_url=url, key_prefix=redis_prefix)
    two = FlowControl(tiers, zone=GMT8, redis_url=url, key_prefix=redis_prefix)
    await one.check(dev_app(), "m", None)
    with pytest.raises(FlowLimited) as refused:
        await two.check(dev_app(), "m", None)
    assert (refused.value.sub_code, refused.value.retry_after) == (SUB_APP_METHOD, 1)


async def test_redis_down_fails_open_to_local_limits(caplog: pytest.LogCaptureFixture) -> None:
    # given Redis configured on a port where nothing listens
    tiers = tier_table({"development": {"per_method_per_second": None, "daily": 3}})
    flow = FlowControl(tiers, zone=GMT8, redis_url=CLOSED_PORT_URL, redis_retry_s=0.0)
    app = dev_app()
    # when calls come: they pass (fail open) ...
    with caplog.at_level(logging.WARNING, logger="mercato.gateway.flow"):
        for _ in range(3):
            await flow.check(app, "m", None)
        # ... but this process still enforces the limits on its own counters
        with pytest.raises(FlowLimited):
            await flow.check(app, "m", None)
    # then every failure is counted, and logged once
    assert flow.redis_failures >= 4
    outage = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(outage) == 1


async def test_redis_down_over_http(app: FastAPI, client: httpx.AsyncClient, world: World) -> None:
    flow = FlowControl(zone=GMT8, redis_url=CLOSED_PORT_URL)
    hooks.attach(app.state.db, flow=flow, calls=app.state.call_log)
    response = await call(client, world, SELLER, world.seller_token)
    assert "mercato_test_seller_echo_response" in response.json()
    assert flow.redis_failures >= 1
