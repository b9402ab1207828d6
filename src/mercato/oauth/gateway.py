"""Tokens through the router (TOP-PROTOCOL.md §7.4): ``taobao.top.auth.token.create`` and
``.refresh``. The app is the caller, already authenticated by its signature; the answer's
``token_result`` is a JSON *string* holding the same fields as ``/oauth/token``."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import Field

from mercato.gateway import registry
from mercato.gateway.context import CallContext
from mercato.gateway.errors import GatewayError
from mercato.gateway.registry import TopParams
from mercato.oauth import service as oauth


class TokenCreateParams(TopParams):
    code: str = Field(min_length=1, max_length=200)
    uuid: str | None = Field(default=None, max_length=100)


class TokenRefreshParams(TopParams):
    refresh_token: str = Field(min_length=1, max_length=200)


@registry.method(
    "taobao.top.auth.token.create",
    params=TokenCreateParams,
    package=None,
    write=True,
    fields=("token_result",),
    description="Exchange an authorization code from /oauth/authorize for a token.",
    example={"token_result": '{"access_token": "62…ZZ42", "token_type": "Bearer", …}'},
)
async def token_create(ctx: CallContext, params: TokenCreateParams) -> dict[str, Any]:
    return await _token_result(
        lambda app: oauth.exchange_code(
            ctx.db_session, app, params.code, server_secret=ctx.server_secret
        ),
        ctx,
    )


@registry.method(
    "taobao.top.auth.token.refresh",
    params=TokenRefreshParams,
    package=None,
    write=True,
    fields=("token_result",),
    description="A new token for a refresh token (service-market apps only, as on TOP).",
    example={"token_result": '{"access_token": "62…ZZ42", "token_type": "Bearer", …}'},
)
async def token_refresh(ctx: CallContext, params: TokenRefreshParams) -> dict[str, Any]:
    return await _token_result(
        lambda app: oauth.refresh(
            ctx.db_session, app, params.refresh_token, server_secret=ctx.server_secret
        ),
        ctx,
    )


async def _token_result(
    issue: Callable[[Any], Awaitable[dict[str, object]]], ctx: CallContext
) -> dict[str, Any]:
    """Run ``issue`` for the calling app; an OAuth refusal is a business error (15) whose
    sub-code names the OAuth error (``isv.invalid_client``, ``isv.invalid_grant``)."""
    assert ctx.app is not None  # the router authenticated the app before the handler
    try:
        fields = await issue(ctx.app)
    except oauth.OAuthError as exc:
        raise GatewayError(15, f"isv.{exc.error}", exc.description) from exc
    return {"token_result": json.dumps(fields, ensure_ascii=False)}
