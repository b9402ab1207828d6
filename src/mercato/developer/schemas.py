"""What a developer may type about an app, checked and normalised; and the app as shown.

Each ``clean_*`` function checks one field and raises ``ValidationFailed`` naming it, so the
service, the pages and the CLI share one rule per field.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel

from mercato.developer.packages import ALL_PACKAGES, is_package
from mercato.kit.errors import FieldProblem, ValidationFailed
from mercato.models import App

APP_TYPES: tuple[str, ...] = ("seller_tool", "buyer_tool", "service_market")
NAME_MAX = 60
CALLBACK_MAX = 500
WHITELIST_MAX = 1000  # the column's width


def check_all(*checks: Callable[[], Any]) -> list[Any]:
    """Run every field check and report all bad fields at once, so a form shows every
    problem on the first post rather than one per attempt."""
    values: list[Any] = []
    problems: list[FieldProblem] = []
    for check in checks:
        try:
            values.append(check())
        except ValidationFailed as exc:
            problems.extend(exc.problems)
    if problems:
        raise ValidationFailed(problems)
    return values


def _printable(value: str) -> bool:
    return value.isprintable()


def clean_name(value: str) -> str:
    name = (value or "").strip()
    if not 1 <= len(name) <= NAME_MAX:
        raise ValidationFailed.one("name", "length", f"1 to {NAME_MAX} characters")
    if not _printable(name):
        raise ValidationFailed.one("name", "printable", "no control characters")
    return name


def clean_app_type(value: str) -> str:
    app_type = (value or "").strip()
    if app_type not in APP_TYPES:
        raise ValidationFailed.one("app_type", "choice", f"one of {', '.join(APP_TYPES)}")
    return app_type


def clean_callback_url(value: str) -> str:
    """An absolute http(s) URL, or empty for "not set yet". Plain http is allowed because
    developers test against their own machines; a fragment is refused because OAuth
    redirects append to the query and a fragment never reaches the server."""
    url = (value or "").strip()
    if not url:
        return ""
    if len(url) > CALLBACK_MAX:
        raise ValidationFailed.one("callback_url", "length", f"at most {CALLBACK_MAX} characters")
    if not _absolute_http_url(url):
        raise ValidationFailed.one(
            "callback_url", "url", "an absolute http:// or https:// URL without a #fragment"
        )
    return url


def _absolute_http_url(url: str) -> bool:
    if any(c.isspace() for c in url) or not url.isprintable():
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError on a malformed port)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname) and not parts.fragment


def clean_ip_whitelist(value: str | Iterable[str]) -> str:
    """IPv4/IPv6 addresses or CIDR networks, comma (or space/newline) separated, stored
    normalised as a comma list; empty means calls may come from anywhere."""
    entries = _split(value)
    networks: list[str] = []
    for entry in entries:
        try:
            network = str(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValidationFailed.one(
                "ip_whitelist", "ip", f"not an IP address or CIDR network: {entry[:60]}"
            ) from None
        if network not in networks:
            networks.append(network)
    joined = ",".join(networks)
    if len(joined) > WHITELIST_MAX:
        raise ValidationFailed.one(
            "ip_whitelist", "length", f"at most {WHITELIST_MAX} characters in all"
        )
    return joined


def _split(value: str | Iterable[str]) -> list[str]:
    text = value if isinstance(value, str) else ",".join(value)
    return [part for part in text.replace(",", " ").split() if part]


def clean_packages(value: Iterable[str] | None) -> list[str]:
    """Known package names, deduplicated, in catalogue order; None means all of them."""
    if value is None:
        return list(ALL_PACKAGES)
    names = {name.strip() for name in value if name.strip()}
    unknown = sorted(name for name in names if not is_package(name))
    if unknown:
        raise ValidationFailed.one(
            "packages", "unknown", f"unknown package {', '.join(unknown)[:200]}"
        )
    return [name for name in ALL_PACKAGES if name in names]


class AppOut(BaseModel):
    """An app as the CLI and JSON surfaces show it: never its secret (the one exception,
    the plaintext right after create or rotate, is added by the caller)."""

    id: int
    app_key: str
    name: str
    app_type: str
    status: str
    callback_url: str
    ip_whitelist: list[str]
    packages: list[str]
    created_at: datetime | None

    @classmethod
    def of(cls, app: App) -> AppOut:
        return cls(
            id=app.id,
            app_key=app.app_key,
            name=app.name,
            app_type=app.app_type,
            status=app.status,
            callback_url=app.callback_url,
            ip_whitelist=_split(app.ip_whitelist),
            packages=[name for name in ALL_PACKAGES if name in {p.package for p in app.packages}],
            created_at=app.created_at,
        )
