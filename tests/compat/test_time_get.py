"""``taobao.time.get`` from py-taobao-open (PyPI, unmodified: md5, millisecond timestamps,
system parameters in the query string) and from mercato.sdk (hmac and hmac-sha256,
datetime timestamps, everything in the body), against the live server."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import taobao_open
from taobao_open.api.base import TopException
from taobao_open.api.rest.TimeGetRequest import TimeGetRequest

from mercato.sdk import TopClient, TopError
from tests.compat.conftest import CompatApp

GMT8 = ZoneInfo("Asia/Shanghai")


def _close_to_now(text: str) -> bool:
    then = datetime.strptime(text, "%Y-%m-%d %H:%M:%S").replace(tzinfo=GMT8)
    return abs(datetime.now(GMT8) - then) < timedelta(minutes=1)


def test_py_taobao_open_gets_the_time(compat_app: CompatApp) -> None:
    request = TimeGetRequest(compat_app.host, compat_app.port)
    request.set_app_info(taobao_open.appinfo(compat_app.app_key, compat_app.app_secret))
    response = request.getResponse()
    assert set(response) == {"time_get_response"}
    assert _close_to_now(response["time_get_response"]["time"])
    assert response["time_get_response"]["request_id"]


def test_py_taobao_open_sees_a_bad_secret_as_code_25(compat_app: CompatApp) -> None:
    request = TimeGetRequest(compat_app.host, compat_app.port)
    request.set_app_info(taobao_open.appinfo(compat_app.app_key, "not-the-secret"))
    with pytest.raises(TopException) as caught:
        request.getResponse()
    assert caught.value.errorcode == 25


@pytest.mark.parametrize("sign_method", ["hmac", "hmac-sha256", "md5"])
@pytest.mark.parametrize("timestamp_style", ["datetime", "millis"])
def test_the_sdk_gets_the_time(
    compat_app: CompatApp, sign_method: str, timestamp_style: str
) -> None:
    with TopClient(
        compat_app.url,
        compat_app.app_key,
        compat_app.app_secret,
        sign_method=sign_method,
        timestamp_style=timestamp_style,
    ) as client:
        assert _close_to_now(client.call("taobao.time.get")["time"])


def test_the_sdk_raises_top_errors(compat_app: CompatApp) -> None:
    wrong_secret = TopClient(compat_app.url, compat_app.app_key, "wrong")
    with wrong_secret as client, pytest.raises(TopError) as caught:
        client.call("taobao.time.get")
    assert (caught.value.code, caught.value.request_id != "") == (25, True)
    unknown_app = TopClient(compat_app.url, "99999999", "x")
    with unknown_app as client, pytest.raises(TopError) as caught:
        client.call("taobao.time.get")
    assert caught.value.code == 29
