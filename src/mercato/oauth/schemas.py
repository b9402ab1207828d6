"""The OAuth token response, field for field as TOP sends it (TOP-PROTOCOL.md §7.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from mercato.models import App

RESPONSE_TYPES = ("code", "token")
VIEWS = ("web", "tmall", "wap")

# The fields the client-side (``response_type=token``) flow puts in the redirect's fragment
# (§7.1), before ``state`` and ``top_sign``.
FRAGMENT_FIELDS = (
    "access_token",
    "token_type",
    "expires_in",
    "refresh_token",
    "re_expires_in",
    "r1_expires_in",
    "r2_expires_in",
    "w1_expires_in",
    "w2_expires_in",
    "taobao_user_id",
    "taobao_user_nick",
)


class TokenResult(BaseModel):
    """§7.3. Lifetimes in seconds, absolute expiries in epoch milliseconds; the user id is a
    string and the nick percent-encoded UTF-8, as TOP clients expect."""

    access_token: str
    token_type: str = "Bearer"
    expires_in: int
    refresh_token: str
    re_expires_in: int
    r1_expires_in: int
    r2_expires_in: int
    w1_expires_in: int
    w2_expires_in: int
    r1_valid: int
    r2_valid: int
    w1_valid: int
    w2_valid: int
    expire_time: int
    refresh_token_valid_time: int
    taobao_user_id: str
    taobao_user_nick: str
    taobao_open_uid: str

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()


class OAuthErrorBody(BaseModel):
    """TOP's OAuth error body, sent with HTTP 400."""

    error: str
    error_description: str


class AuthorizedApp(BaseModel):
    """One row of a user's "authorized apps" page."""

    app_id: int
    app_key: str
    name: str
    since: datetime
    packages: list[str]  # the packages' titles, in catalogue order

    @classmethod
    def of(cls, app: App, since: datetime, packages: list[str]) -> AuthorizedApp:
        return cls(
            app_id=app.id, app_key=app.app_key, name=app.name, since=since, packages=packages
        )
