"""The JSON face: POST /api/v1/{method} with bearer tokens, and its OpenAPI document."""

from __future__ import annotations

import httpx

from tests.gateway.conftest import World

SELLER = "mercato.test.seller.echo"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_time_get_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/taobao.time.get")
    assert response.status_code == 200
    assert len(response.json()["result"]["time"]) == 19


async def test_happy_path(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post(
        f"/api/v1/{SELLER}",
        json={"title": "json", "num": 2, "location.state": "浙江"},
        headers=bearer(world.seller_token),
    )
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert result["nick"] == "gw_seller"
    assert (result["num"], result["state"]) == (2, "浙江")
    assert result["items"][0]["price"] == "200.07"  # plain arrays, TOP scalars
    assert response.headers["x-request-id"]


async def test_401_without_or_with_a_bad_token(client: httpx.AsyncClient) -> None:
    missing = await client.post(f"/api/v1/{SELLER}", json={"title": "t"})
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"] == "Bearer"
    assert set(missing.json()) == {"error", "detail"}
    bad = await client.post(f"/api/v1/{SELLER}", json={"title": "t"}, headers=bearer("nope"))
    assert bad.status_code == 401


async def test_error_statuses(client: httpx.AsyncClient, world: World) -> None:
    async def post(
        body: object, token: str = world.seller_token, m: str = SELLER
    ) -> httpx.Response:
        return await client.post(f"/api/v1/{m}", json=body, headers=bearer(token))

    assert (await post({"title": "t"}, world.buyer_token)).status_code == 403
    invalid = await post({"title": "t", "num": "x"})
    assert invalid.status_code == 422
    assert invalid.json()["problems"][0]["field"] == "num"
    assert (await post({})).status_code == 422
    assert (await post({"title": "missing"})).status_code == 404
    conflict = await post({"title": "shipped"})
    assert conflict.status_code == 409
    assert conflict.json()["error"] == "trade_status_invalid"
    assert (await post(["not", "an", "object"])).status_code == 400
    assert (await post({}, m="taobao.nothing.get")).status_code == 404
    boom = await post({}, m="mercato.test.boom")
    assert boom.status_code == 500
    assert "secret internals" not in boom.text
    garbage = await client.post(
        f"/api/v1/{SELLER}", content=b"{nope", headers=bearer(world.seller_token)
    )
    assert garbage.status_code == 400


async def test_openapi_lists_every_method(client: httpx.AsyncClient) -> None:
    document = (await client.get("/api/v1/openapi.json")).json()
    assert document["openapi"].startswith("3.")
    assert "/api/v1/taobao.time.get" in document["paths"]
    time_get = document["paths"]["/api/v1/taobao.time.get"]["post"]
    assert time_get["security"] == []
    echo = document["paths"][f"/api/v1/{SELLER}"]["post"]
    assert echo["security"] == [{"bearer": []}]
    schema = echo["requestBody"]["content"]["application/json"]["schema"]
    assert "location.state" in schema["properties"]
    assert schema["required"] == ["title"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
