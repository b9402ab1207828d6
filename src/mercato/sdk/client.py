"""A TOP-protocol client (TOP-PROTOCOL.md §2–6): signs with ``md5``, ``hmac`` or
``hmac-sha256``, sends either timestamp form, maps ``error_response`` to exceptions and
retries what TOP says is transient (``isp.*`` sub-codes, HTTP 500/502/504, broken
connections).

    client = TopClient("http://127.0.0.1:8000", app_key, app_secret)
    client.call("taobao.trades.sold.get", {"fields": "tid,status"}, session=token)

By default every parameter goes in the form body (TOP's "style B"); ``system_in_query``
puts the system parameters in the query string as the official SDKs do ("style A").
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import httpx

from mercato.gateway.envelope import root_name
from mercato.gateway.signing import SIGN_METHODS, sign

GMT8 = ZoneInfo("Asia/Shanghai")
PARTNER_ID = "mercato-sdk-python"
RETRY_STATUSES = frozenset({500, 502, 504})
TIMESTAMP_STYLES = ("datetime", "millis")


class TopError(Exception):
    """An ``error_response`` from the gateway."""

    def __init__(
        self, code: int, msg: str, sub_code: str = "", sub_msg: str = "", request_id: str = ""
    ) -> None:
        super().__init__(f"{code} {msg}" + (f" ({sub_code}: {sub_msg})" if sub_code else ""))
        self.code, self.msg = code, msg
        self.sub_code, self.sub_msg, self.request_id = sub_code, sub_msg, request_id

    @classmethod
    def from_body(cls, body: Mapping[str, Any]) -> TopError:
        kind = TopRetryableError if str(body.get("sub_code", "")).startswith("isp.") else cls
        return kind(
            int(body.get("code", 0)),
            str(body.get("msg", "")),
            str(body.get("sub_code", "")),
            str(body.get("sub_msg", "")),
            str(body.get("request_id", "")),
        )


class TopRetryableError(TopError):
    """A platform-side fault (``isp.*``): worth trying again."""


def text(value: Any) -> str | None:
    """How a parameter value travels (TOP style B): booleans ``true``/``false``, datetimes
    ``yyyy-MM-dd HH:mm:ss`` in GMT+8, floats with two decimals, lists comma-joined; None is
    left out."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=GMT8)
        return moment.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    if isinstance(value, list | tuple | set):
        return ",".join(str(part) for part in value)
    return str(value)


class TopClient:
    """One app's client for one gateway. Thread-safe as far as ``httpx.Client`` is."""

    def __init__(
        self,
        url: str,
        app_key: str,
        app_secret: str,
        *,
        sign_method: str = "hmac-sha256",
        timestamp_style: str = "datetime",
        system_in_query: bool = False,
        timeout: float = 10.0,
        retries: int = 3,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if sign_method not in SIGN_METHODS:
            raise ValueError(f"sign_method must be one of {SIGN_METHODS}")
        if timestamp_style not in TIMESTAMP_STYLES:
            raise ValueError(f"timestamp_style must be one of {TIMESTAMP_STYLES}")
        base = url.rstrip("/")
        self.endpoint = base if base.endswith("/router/rest") else base + "/router/rest"
        self.app_key, self._secret = app_key, app_secret
        self.sign_method, self.timestamp_style = sign_method, timestamp_style
        self.system_in_query, self.retries = system_in_query, max(0, retries)
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> TopClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        *,
        session: str | None = None,
        files: Mapping[str, tuple[str, bytes]] | None = None,
    ) -> dict[str, Any]:
        """Call ``method`` and return its response object (the part inside
        ``<method>_response``). Raises :class:`TopError` for an ``error_response``, after
        retrying the transient ones."""
        attempt = 0
        while True:
            try:
                return self._call_once(method, params or {}, session, files or {})
            except (TopRetryableError, _TransientHttp):
                attempt += 1
                if attempt > self.retries:
                    raise
                time.sleep(min(0.2 * 2**attempt, 2.0))

    def _call_once(
        self,
        method: str,
        params: Mapping[str, Any],
        session: str | None,
        files: Mapping[str, tuple[str, bytes]],
    ) -> dict[str, Any]:
        system = self._system(method, session)
        business = {k: v for k, v in ((k, text(v)) for k, v in params.items()) if v is not None}
        system["sign"] = sign({**system, **business}, self._secret, self.sign_method)
        query, body = (system, business) if self.system_in_query else ({}, {**system, **business})
        try:
            response = self._http.post(
                self.endpoint,
                params=query,
                data=body,
                files={name: (fn, data) for name, (fn, data) in files.items()} or None,
            )
        except httpx.TransportError as exc:
            raise _TransientHttp(str(exc)) from exc
        if response.status_code in RETRY_STATUSES:
            raise _TransientHttp(f"HTTP {response.status_code}")
        response.raise_for_status()
        return _unwrap(method, response.json())

    def _system(self, method: str, session: str | None) -> dict[str, str]:
        now = datetime.now(UTC)
        if self.timestamp_style == "millis":
            stamp = str(int(now.timestamp() * 1000))
        else:
            stamp = now.astimezone(GMT8).strftime("%Y-%m-%d %H:%M:%S")
        system = {
            "method": method,
            "app_key": self.app_key,
            "sign_method": self.sign_method,
            "timestamp": stamp,
            "v": "2.0",
            "format": "json",
            "partner_id": PARTNER_ID,
        }
        if session:
            system["session"] = session
        return system


class _TransientHttp(Exception):
    """A failure below the protocol (connection, 5xx): retried, then re-raised as is."""


def _unwrap(method: str, body: Mapping[str, Any]) -> dict[str, Any]:
    if "error_response" in body:
        raise TopError.from_body(body["error_response"])
    root = root_name(method)
    inner = body.get(root)
    if not isinstance(inner, dict):
        raise TopError(15, "Remote Service Error", "isv.unexpected-response", f"no {root}")
    return inner


def listed(container: Mapping[str, Any] | None, element: str) -> Sequence[Any]:
    """The elements of a TOP list wrapper: ``listed(r.get("trades"), "trade")``."""
    if not container:
        return []
    items = container.get(element, [])
    return items if isinstance(items, list) else [items]
