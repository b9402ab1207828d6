"""Whatever arrives, /router/rest answers HTTP 200 with a defined TOP code and no trace."""

from __future__ import annotations

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mercato.gateway.errors import TOP_ERRORS
from tests.gateway.conftest import World, error_of, signed, system

NAMES = st.sampled_from(
    [
        "method",
        "app_key",
        "sign",
        "sign_method",
        "timestamp",
        "v",
        "format",
        "session",
        "simplify",
        "title",
        "num",
        "location.state",
        "fields",
        "page_size",
    ]
) | st.text(max_size=12)
VALUES = st.text(max_size=40) | st.sampled_from(
    ["taobao.time.get", "mercato.test.seller.echo", "json", "xml", "2.0", "md5", "hmac", "true"]
)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _check(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert "Traceback" not in response.text
    if "error_response" in response.text:
        assert error_of(response)["code"] in TOP_ERRORS


@FUZZ
@given(params=st.dictionaries(NAMES, VALUES, max_size=10))
async def test_random_params(client: httpx.AsyncClient, params: dict[str, str]) -> None:
    _check(await client.post("/router/rest", data=params))


@FUZZ
@given(
    body=st.binary(max_size=300),
    ctype=st.sampled_from(
        [
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=B",
            "multipart/form-data",
            "text/plain",
            "application/json",
            "",
        ]
    ),
)
async def test_random_bodies(client: httpx.AsyncClient, body: bytes, ctype: str) -> None:
    headers = {"Content-Type": ctype} if ctype else {}
    _check(await client.post("/router/rest?format=json", content=body, headers=headers))


@FUZZ
@given(
    extra=st.dictionaries(
        st.sampled_from(["title", "num", "flag", "location.state"]),
        st.text(max_size=20),
        max_size=4,
    )
)
async def test_signed_random_business_params(
    client: httpx.AsyncClient, world: World, extra: dict[str, str]
) -> None:
    params = signed(
        system(world, "mercato.test.seller.echo", session=world.seller_token, **extra), world.secret
    )
    response = await client.post("/router/rest", data=params)
    _check(response)
    body = response.json()
    if "error_response" in body:
        assert body["error_response"]["code"] in (15, 40, 41)
