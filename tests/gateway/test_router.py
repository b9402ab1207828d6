"""/router/rest: both client styles, GET, XML, simplify, multipart, and every error code in
TOP's validation order (TOP-PROTOCOL.md §14.1), each triggered by a request whose only
defect is the one under test."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import timedelta

import httpx
import pytest

from mercato.gateway import signing
from mercato.kit.clock import clock, utcnow
from mercato.kit.db import Database
from mercato.models import Role
from tests.factories.accounts import make_user
from tests.factories.gateway import make_app, make_token
from tests.gateway.conftest import (
    World,
    error_of,
    now_gmt8,
    signed,
    style_a,
    style_b,
    system,
)

SELLER = "mercato.test.seller.echo"


# --- happy paths ---------------------------------------------------------------------


async def test_time_get_style_a(client: httpx.AsyncClient, world: World) -> None:
    # given the official SDK's shape: system params in the query, empty body, md5, ms epoch
    response = await style_a(client, world, system(world, "taobao.time.get"), {})
    # then
    assert response.status_code == 200
    body = response.json()["time_get_response"]
    assert len(body["request_id"]) >= 8
    shown = body["time"]
    expected = (utcnow() + timedelta(hours=8)).strftime("%Y-%m-%d %H:%M")
    assert shown.startswith(expected[:13])
    assert len(shown) == 19


async def test_time_get_style_b(client: httpx.AsyncClient, world: World) -> None:
    params = system(world, "taobao.time.get", sign_method="hmac", timestamp=now_gmt8())
    response = await style_b(client, world, params, {})
    assert "time_get_response" in response.json()


@pytest.mark.parametrize("sign_method", ["md5", "hmac", "hmac-sha256"])
async def test_session_method_style_a(
    client: httpx.AsyncClient, world: World, sign_method: str
) -> None:
    params = system(world, SELLER, sign_method=sign_method, session=world.seller_token)
    business = {"title": "标题 & more", "num": "3", "location.state": "浙江", "flag": "True"}
    response = await style_a(client, world, params, business)
    inner = response.json()["mercato_test_seller_echo_response"]
    assert inner["nick"] == "gw_seller"
    assert inner["title"] == "标题 & more"
    assert inner["num"] == 3
    assert inner["state"] == "浙江"
    assert inner["flag"] is True
    assert inner["items"]["item"][0] == {
        "num_iid": 42,
        "price": "200.07",
        "created": "2026-01-01 12:00:00",
        "title": "<a&b>",
    }
    assert inner["tags"] == {"string": ["x", "y"]}


async def test_session_method_style_b_hmac_datetime(
    client: httpx.AsyncClient, world: World
) -> None:
    params = system(
        world, SELLER, sign_method="hmac", timestamp=now_gmt8(), session=world.seller_token
    )
    response = await style_b(client, world, params, {"title": "t", "flag": "false"})
    assert response.json()["mercato_test_seller_echo_response"]["flag"] is False


async def test_get_request(client: httpx.AsyncClient, world: World) -> None:
    params = signed(system(world, SELLER, session=world.seller_token, title="g"), world.secret)
    response = await client.get("/router/rest", params=params)
    assert response.json()["mercato_test_seller_echo_response"]["title"] == "g"


async def test_missing_sign_method_means_md5(client: httpx.AsyncClient, world: World) -> None:
    params = system(world, "taobao.time.get")
    del params["sign_method"]
    response = await style_b(client, world, params, {})
    assert "time_get_response" in response.json()


async def test_xml_is_the_default(client: httpx.AsyncClient, world: World) -> None:
    params = system(world, SELLER, session=world.seller_token)
    del params["format"]
    response = await style_b(client, world, params, {"title": "x<y"})
    assert response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.content)
    assert root.tag == "mercato_test_seller_echo_response"
    assert root.findtext("title") == "x<y"
    assert [e.findtext("price") for e in root.find("items").iter("item")] == ["200.07"]  # type: ignore[union-attr]
    assert root.findtext("request_id")


async def test_xml_error(client: httpx.AsyncClient, world: World) -> None:
    params = system(world, "taobao.time.get", fmt="xml", v="9.9")
    response = await style_b(client, world, params, {})
    assert response.status_code == 200
    root = ET.fromstring(response.content)
    assert root.tag == "error_response"
    assert root.findtext("code") == "34"
    assert root.findtext("request_id")


async def test_simplify(client: httpx.AsyncClient, world: World) -> None:
    params = system(world, SELLER, session=world.seller_token, simplify="true")
    body = (await style_b(client, world, params, {"title": "s"})).json()
    assert body["title"] == "s"
    assert body["items"][0]["num_iid"] == 42
    assert body["tags"] == ["x", "y"]
    assert body["request_id"]


async def test_multipart_with_a_file_part(client: httpx.AsyncClient, world: World) -> None:
    # given the official SDK's multipart: text parts form-data, the file part "file;"
    sys_params = system(world, SELLER, session=world.seller_token)
    business = {"title": "with image"}
    sign = signing.sign({**sys_params, **business}, world.secret, "md5")  # files unsigned
    boundary = "PYTHON_SDK_BOUNDARY"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n'
        "Content-Type: text/plain; charset=UTF-8\r\n\r\nwith image\r\n".encode(),
        f'--{boundary}\r\nContent-Disposition: file; name="image"; filename="a.png"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + b"\x89PNG\x00\xff\r\n",
        f"--{boundary}--\r\n".encode(),
    ]
    response = await client.post(
        "/router/rest",
        params={**sys_params, "sign": sign},
        content=b"".join(parts),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert response.json()["mercato_test_seller_echo_response"]["title"] == "with image"


async def test_request_ids_differ(client: httpx.AsyncClient, world: World) -> None:
    ids = set()
    for _ in range(3):
        r = await style_b(client, world, system(world, "taobao.time.get"), {})
        ids.add(r.json()["time_get_response"]["request_id"])
    assert len(ids) == 3


# --- every error code, in the validation order --------------------------------------

Build = Callable[[World], dict[str, str]]


def _without(key: str, method: str = "taobao.time.get") -> Build:
    def build(w: World) -> dict[str, str]:
        params = system(w, method)
        params.pop(key)
        return signed(params, w.secret, "md5")

    return build


def _with(method: str = "taobao.time.get", *, sign: bool = True, **extra: str) -> Build:
    def build(w: World) -> dict[str, str]:
        params = system(w, method, **extra)
        return signed(params, w.secret) if sign else params

    return build


def _session(kind: str, **business: str) -> Build:
    def build(w: World) -> dict[str, str]:
        token = {"seller": w.seller_token, "buyer": w.buyer_token, "other": w.other_token}.get(
            kind, kind
        )
        return signed(system(w, SELLER, session=token, **business), w.secret)

    return build


def _sha1(w: World) -> dict[str, str]:
    return signed(system(w, "taobao.time.get", sign_method="sha1"), w.secret, "md5")


def _bad_sign(w: World) -> dict[str, str]:
    return {**signed(system(w, "taobao.time.get"), w.secret), "sign": "0" * 32}


def _other_secret(w: World) -> dict[str, str]:
    return signed(system(w, "taobao.time.get", sign_method="hmac"), w.other_secret)


def _tampered(w: World) -> dict[str, str]:
    params = signed(system(w, "taobao.time.get"), w.secret)
    params["partner_id"] = "changed"  # partner_id is signed
    return params


def _skewed(minutes: int) -> Build:
    def build(w: World) -> dict[str, str]:
        ms = int((utcnow() + timedelta(minutes=minutes)).timestamp() * 1000)
        return signed(system(w, "taobao.time.get", timestamp=str(ms)), w.secret)

    return build


ERROR_CASES: list[tuple[str, int, str | None, Build]] = [
    ("missing method", 21, None, _without("method")),
    ("unknown method", 22, "isv.invalid-method", _with("taobao.nothing.get")),
    ("missing app_key", 28, None, _without("app_key")),
    ("unknown app_key", 29, "isv.appkey-not-exists", _with(app_key="99999999")),
    ("overlong app_key", 29, "isv.appkey-not-exists", _with(app_key="9" * 40)),
    ("missing sign", 24, None, _with(sign=False)),
    ("missing timestamp", 30, None, _without("timestamp")),
    ("timestamp garbage", 31, "isv.invalid-timestamp", _with(timestamp="yesterday")),
    ("timestamp seconds", 31, "isv.invalid-timestamp", _with(timestamp="1795502795")),
    ("timestamp 11 min late", 31, "isv.invalid-timestamp", _skewed(-11)),
    ("timestamp 11 min early", 31, "isv.invalid-timestamp", _skewed(11)),
    ("missing v", 32, None, _without("v")),
    ("malformed v", 33, "isv.invalid-version", _with(v="two")),
    ("unsupported v", 34, "isv.unsupported-version", _with(v="1.0")),
    ("bad format", 23, "isv.invalid-format", _with(fmt="html")),
    ("unknown sign_method", 25, "isv.invalid-sign-method", _sha1),
    ("wrong sign", 25, "isv.invalid-signature", _bad_sign),
    ("another app's secret", 25, "isv.invalid-signature", _other_secret),
    ("signed param changed", 25, "isv.invalid-signature", _tampered),
    ("missing session", 26, None, _with(SELLER, title="t")),
    ("unknown session", 27, "isv.invalid-session", _session("nonsense", title="t")),
    ("another app's session", 27, "isv.invalid-session", _session("other", title="t")),
    ("buyer on a seller method", 42, "isv.user-not-seller", _session("buyer", title="t")),
    ("missing parameter", 40, "isv.missing-parameter:title", _session("seller")),
    ("empty parameter", 40, "isv.missing-parameter:title", _session("seller", title="")),
    ("invalid parameter", 41, "isv.invalid-parameter:num", _session("seller", title="t", num="x")),
    ("out of range", 41, "isv.invalid-parameter:num", _session("seller", title="t", num="0")),
    ("bad boolean", 41, "isv.invalid-parameter:flag", _session("seller", title="t", flag="maybe")),
    ("handler says invalid", 41, "isv.invalid-parameter:title", _session("seller", title="bad")),
    ("not found", 15, "isv.item-not-found", _session("seller", title="missing")),
    ("business conflict", 15, "isv.trade-status-invalid", _session("seller", title="shipped")),
    ("unexpected failure", 10, "isp.unknown-error", _with("mercato.test.boom")),
]


@pytest.mark.parametrize(
    ("code", "sub_code", "build"),
    [pytest.param(c, s, b, id=f"{c}-{name}") for name, c, s, b in ERROR_CASES],
)
async def test_error_codes(
    client: httpx.AsyncClient, world: World, code: int, sub_code: str | None, build: Build
) -> None:
    response = await client.post("/router/rest", data=build(world))
    err = error_of(response)
    assert err["code"] == code, err
    assert err.get("sub_code") == sub_code, err
    assert err["msg"]
    assert "Traceback" not in response.text
    assert "secret internals" not in response.text


async def test_error_codes_style_a_too(client: httpx.AsyncClient, world: World) -> None:
    params = system(world, SELLER, session=world.buyer_token)
    err = error_of(await style_a(client, world, params, {"title": "t"}))
    assert err["code"] == 42


async def test_http_action_not_allowed(client: httpx.AsyncClient) -> None:
    err = error_of(await client.put("/router/rest?format=json"))
    assert err["code"] == 9


async def test_non_utf8_body_is_47(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/router/rest?format=json",
        content=b"method=taobao.time.get&title=%C3%28",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error_of(response)["code"] == 47
    raw = await client.post(
        "/router/rest?format=json",
        content=b"title=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert error_of(raw)["code"] == 47


async def test_multipart_non_utf8_text_is_47(client: httpx.AsyncClient) -> None:
    body = b'--B\r\nContent-Disposition: form-data; name="t"\r\n\r\n\xff\r\n--B--\r\n'
    response = await client.post(
        "/router/rest?format=json",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=B"},
    )
    assert error_of(response)["code"] == 47


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary=B"])
async def test_malformed_multipart_is_an_error_response(
    client: httpx.AsyncClient, content_type: str
) -> None:
    body = b"--B\r\nContent-Disposition: form-data\r\n\r\nx\r\n--B--\r\n"
    response = await client.post(
        "/router/rest?format=json", content=body, headers={"Content-Type": content_type}
    )
    assert error_of(response)["code"] == 43


# --- timestamps and sessions over time ------------------------------------------------


async def test_skew_is_measured_against_the_moved_clock(
    client: httpx.AsyncClient, world: World
) -> None:
    params = system(world, "taobao.time.get")  # stamped now
    try:
        clock.advance(timedelta(minutes=9))
        ok = await client.post("/router/rest", data=signed(params, world.secret))
        assert "time_get_response" in ok.json()
        clock.advance(timedelta(minutes=2))
        late = await client.post("/router/rest", data=signed(params, world.secret))
        assert error_of(late)["code"] == 31
    finally:
        clock.reset()


async def test_timestamps_by_wall_or_sandbox_time_pass_while_the_sandbox_clock_is_moved(
    client: httpx.AsyncClient, world: World
) -> None:
    wall = utcnow()
    clock.follow(timedelta(days=3))  # mercato sandbox clock --advance 3d
    try:
        for sent in (wall, utcnow()):  # the caller's own clock, or taobao.time.get's
            stamp = str(int(sent.timestamp() * 1000))
            params = system(world, "taobao.time.get", timestamp=stamp)
            response = await client.post("/router/rest", data=signed(params, world.secret))
            assert "time_get_response" in response.json(), response.text
        halfway = str(int((wall + timedelta(days=1)).timestamp() * 1000))
        params = system(world, "taobao.time.get", timestamp=halfway)
        response = await client.post("/router/rest", data=signed(params, world.secret))
        assert error_of(response)["code"] == 31
    finally:
        clock.follow(timedelta())


async def test_datetime_timestamp_is_gmt8(client: httpx.AsyncClient, world: World) -> None:
    utc_wall = utcnow().strftime("%Y-%m-%d %H:%M:%S")  # a Style B client on a UTC host
    params = system(world, "taobao.time.get", timestamp=utc_wall)
    assert (
        error_of(await client.post("/router/rest", data=signed(params, world.secret)))["code"] == 31
    )


async def test_skew_is_configurable(client: httpx.AsyncClient, world: World, app: object) -> None:
    app.state.settings.gateway_timestamp_skew_s = 9 * 3600  # type: ignore[attr-defined]
    utc_wall = utcnow().strftime("%Y-%m-%d %H:%M:%S")
    params = system(world, "taobao.time.get", timestamp=utc_wall)
    response = await client.post("/router/rest", data=signed(params, world.secret))
    assert "time_get_response" in response.json()


async def test_revoked_token_is_27(client: httpx.AsyncClient, world: World, db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "gw_revoked", {Role.seller})
        token = await make_token(session, world.app, user, revoked=True)
    params = signed(system(world, SELLER, session=token, title="t"), world.secret)
    assert error_of(await client.post("/router/rest", data=params))["code"] == 27


async def test_expired_token_is_27(client: httpx.AsyncClient, world: World) -> None:
    try:
        clock.advance(timedelta(days=2))  # tokens live 24 h
        params = signed(system(world, SELLER, session=world.seller_token, title="t"), world.secret)
        assert error_of(await client.post("/router/rest", data=params))["code"] == 27
    finally:
        clock.reset()


async def test_suspended_user_is_27(client: httpx.AsyncClient, world: World, db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "gw_suspended", {Role.seller})
        user.status = "suspended"
        token = await make_token(session, world.app, user)
    params = signed(system(world, SELLER, session=token, title="t"), world.secret)
    assert error_of(await client.post("/router/rest", data=params))["code"] == 27


# --- app standing, whitelist and packages (code 11) -----------------------------------


@pytest.mark.parametrize(
    ("app_kwargs", "method", "sub_code"),
    [
        (
            {"ip_whitelist": "192.168.0.0/16, 10.9.9.9"},
            "taobao.time.get",
            "isv.permission-ip-whitelist-limit",
        ),
        ({"status": "suspended"}, "taobao.time.get", "isv.permission-app-status-limit"),
        ({"packages": ("trades-read",)}, SELLER, "isv.permission-api-package-not-allowed"),
        ({"packages": ()}, SELLER, "isv.permission-api-package-empty"),
    ],
)
async def test_code_11(
    client: httpx.AsyncClient,
    db: Database,
    app_kwargs: dict[str, object],
    method: str,
    sub_code: str,
) -> None:
    async with db.write() as session:
        user = await make_user(session, "gw_limited", {Role.seller})
        app, secret = await make_app(session, user, **app_kwargs)  # type: ignore[arg-type]
        token = await make_token(session, app, user)
    params = {
        "method": method,
        "app_key": app.app_key,
        "timestamp": now_gmt8(),
        "v": "2.0",
        "format": "json",
        "sign_method": "md5",
        "session": token,
        "title": "t",
    }
    err = error_of(await client.post("/router/rest", data=signed(params, secret)))
    assert (err["code"], err["sub_code"]) == (11, sub_code)


async def test_whitelisted_ip_passes(client: httpx.AsyncClient, db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "gw_listed")
        app, secret = await make_app(session, user, ip_whitelist="10.0.0.0/8")
    params = {
        "method": "taobao.time.get",
        "app_key": app.app_key,
        "timestamp": now_gmt8(),
        "v": "2.0",
        "format": "json",
        "sign_method": "hmac-sha256",
    }
    response = await client.post("/router/rest", data=signed(params, secret))
    assert "time_get_response" in response.json()


async def test_write_method_commits(client: httpx.AsyncClient, db: Database) -> None:
    async with db.write() as session:
        user = await make_user(session, "gw_writer", {Role.seller})
        app, secret = await make_app(session, user, packages=("items-write",))
        token = await make_token(session, app, user)
    params = {
        "method": "mercato.test.items.write",
        "app_key": app.app_key,
        "timestamp": now_gmt8(),
        "v": "2.0",
        "format": "json",
        "sign_method": "md5",
        "session": token,
        "title": "w",
    }
    response = await client.post("/router/rest", data=signed(params, secret))
    assert response.json()["mercato_test_items_write_response"]["title"] == "w"
