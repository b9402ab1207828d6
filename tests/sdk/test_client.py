"""The SDK's own behaviour: what it sends, how it signs, which failures it retries. The
gateway end to end is in tests/compat; here a recording transport stands in for it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import parse_qsl

import httpx
import pytest

from mercato.gateway.signing import verify
from mercato.sdk import TopClient, TopError, TopRetryableError
from mercato.sdk.client import listed, text


def _recorder(answers: list[httpx.Response]) -> tuple[httpx.MockTransport, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return httpx.MockTransport(handle), seen


def _ok(method: str = "time_get_response", **fields: object) -> httpx.Response:
    return httpx.Response(200, json={method: {"request_id": "r1", **fields}})


def _error(code: int, sub_code: str) -> httpx.Response:
    body = {"code": code, "msg": "m", "sub_code": sub_code, "sub_msg": "s", "request_id": "r2"}
    return httpx.Response(200, json={"error_response": body})


def test_values_travel_as_top_expects() -> None:
    assert text(True) == "true" and text(False) == "false"
    assert text(1.5) == "1.50" and text(Decimal("2")) == "2.00"
    assert text(datetime(2026, 1, 1, 4, 0, tzinfo=UTC)) == "2026-01-01 12:00:00"
    assert text([1, 2, 3]) == "1,2,3" and text(None) is None


def test_style_b_puts_everything_in_a_signed_body() -> None:
    transport, seen = _recorder([_ok()])
    client = TopClient("http://gw.test", "12345678", "secret", transport=transport)
    client.call("taobao.time.get", {"fields": ["a", "b"], "flag": True, "skip": None})
    sent = dict(parse_qsl(seen[0].content.decode()))
    assert seen[0].url.path == "/router/rest" and not seen[0].url.query
    assert sent["fields"] == "a,b" and sent["flag"] == "true" and "skip" not in sent
    assert sent["sign_method"] == "hmac-sha256" and len(sent["timestamp"]) == 19
    assert verify(sent, "secret", "hmac-sha256", sent["sign"])


def test_style_a_puts_system_parameters_in_the_query() -> None:
    transport, seen = _recorder([_ok()])
    client = TopClient(
        "http://gw.test/router/rest",
        "12345678",
        "secret",
        sign_method="md5",
        timestamp_style="millis",
        system_in_query=True,
        transport=transport,
    )
    client.call("taobao.time.get", {"q": "手机"}, session="tok")
    query = dict(parse_qsl(seen[0].url.query.decode()))
    body = dict(parse_qsl(seen[0].content.decode()))
    assert query["session"] == "tok" and query["timestamp"].isdigit() and body == {"q": "手机"}
    assert verify({**query, **body}, "secret", "md5", query["sign"])


def test_isp_errors_are_retried_and_isv_errors_are_not() -> None:
    transport, seen = _recorder([_error(15, "isp.service-error"), _ok(time="t")])
    client = TopClient("http://gw.test", "1", "s", retries=2, transport=transport)
    assert client.call("taobao.time.get")["time"] == "t" and len(seen) == 2

    transport, seen = _recorder([_error(15, "isv.invalid-parameter:tid")])
    client = TopClient("http://gw.test", "1", "s", retries=2, transport=transport)
    with pytest.raises(TopError) as caught:
        client.call("taobao.time.get")
    assert not isinstance(caught.value, TopRetryableError) and len(seen) == 1
    assert caught.value.sub_code == "isv.invalid-parameter:tid"


def test_retries_give_up_after_the_limit() -> None:
    transport, seen = _recorder([httpx.Response(502)])
    client = TopClient("http://gw.test", "1", "s", retries=1, transport=transport)
    with pytest.raises(Exception, match="502"):
        client.call("taobao.time.get")
    assert len(seen) == 2


def test_lists_unwrap() -> None:
    response = json.loads('{"trades": {"trade": [{"tid": 1}]}}')
    assert listed(response.get("trades"), "trade") == [{"tid": 1}]
    assert listed(None, "trade") == []
