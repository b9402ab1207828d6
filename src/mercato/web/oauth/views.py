"""``/oauth/authorize`` (the consent page) and ``/oauth/token`` (server to server).

Before anything is redirected, the client and its ``redirect_uri`` are verified: a bad pair
is answered with HTTP 400 JSON here, never sent on to an address the app did not register.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mercato.kit.errors import AuthenticationRequired
from mercato.models import User
from mercato.oauth import service as oauth
from mercato.oauth.schemas import RESPONSE_TYPES, VIEWS
from mercato.oauth.service import OAuthError
from mercato.web.csrf import csrf_protect
from mercato.web.deps import current_user, db_of
from mercato.web.forms import form_dict
from mercato.web.templating import page

router = APIRouter(dependencies=[Depends(csrf_protect)])
# The token endpoint is called by the app's server with its secret, not by a browser: no
# cookies, so no CSRF check.
token_router = APIRouter()

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _oauth_error(exc: OAuthError) -> JSONResponse:
    return JSONResponse(exc.as_dict(), status_code=exc.status, headers=NO_STORE)


def _redirect_error(redirect_uri: str, error: str, description: str, state: str) -> Response:
    params = {"error": error, "error_description": description}
    if state:
        params["state"] = state
    return RedirectResponse(oauth.with_query(redirect_uri, params), status_code=303)


def _unsupported(redirect_uri: str, response_type: str, state: str) -> Response:
    shown = response_type[:20] or "(none)"
    return _redirect_error(
        redirect_uri,
        "unsupported_response_type",
        f"response_type {shown} is not supported; use code or token",
        state,
    )


def _view(value: str) -> str:
    return value if value in VIEWS else "web"


@router.get("/oauth/authorize")
async def authorize_form(
    request: Request,
    response_type: str = "",
    client_id: str = "",
    redirect_uri: str = "",
    state: str = "",
    view: str = "web",
    scope: str = "",  # legacy TOP scopes: accepted, ignored (permission packages decide)
) -> Response:
    async with db_of(request).read() as session:
        try:
            app = await oauth.client_for_redirect(session, client_id, redirect_uri)
        except OAuthError as exc:
            return _oauth_error(exc)
        if response_type not in RESPONSE_TYPES:
            return _unsupported(redirect_uri, response_type, state)
        developer = await session.get(User, app.owner_id)
    user = await current_user(request)
    if user is None:
        here = f"{request.url.path}?{request.url.query}"
        return RedirectResponse(f"/login?next={quote(here, safe='')}", status_code=303)
    return await page(
        request,
        "oauth/authorize.html",
        app=app,
        developer=developer.nick if developer else "",
        packages=oauth.package_titles(app),
        params={
            "response_type": response_type,
            "client_id": app.app_key,
            "redirect_uri": redirect_uri,
            "state": state,
            "view": _view(view),
        },
        view=_view(view),
    )


@router.post("/oauth/authorize")
async def authorize(request: Request) -> Response:
    form = await form_dict(request)
    redirect_uri, state = form.get("redirect_uri", ""), form.get("state", "")
    response_type = form.get("response_type", "")
    settings_secret = str(request.app.state.secret_key)
    user = await current_user(request)
    async with db_of(request).write() as session:
        try:
            app = await oauth.client_for_redirect(session, form.get("client_id", ""), redirect_uri)
        except OAuthError as exc:
            return _oauth_error(exc)
        if response_type not in RESPONSE_TYPES:
            return _unsupported(redirect_uri, response_type, state)
        if user is None:
            raise AuthenticationRequired("please sign in")
        if form.get("decision") != "authorize":
            return _redirect_error(redirect_uri, "access_denied", "authorize reject", state)
        await oauth.authorize(session, app, user)
        if response_type == "token":
            token = await oauth.issue_token_for(session, app, user, server_secret=settings_secret)
            target = oauth.implicit_redirect(
                app, token, redirect_uri=redirect_uri, state=state, server_secret=settings_secret
            )
        else:
            code = await oauth.create_code(
                session, app, user, redirect_uri=redirect_uri, view=_view(form.get("view", ""))
            )
            params = {"code": code, **({"state": state} if state else {})}
            target = oauth.with_query(redirect_uri, params)
    return RedirectResponse(target, status_code=303)


@token_router.post("/oauth/token")
async def token(request: Request) -> Response:
    """``grant_type=authorization_code`` or ``refresh_token``; §7.3 fields or a 400 body."""
    try:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    except Exception:  # a malformed body is a client error, never a 500
        return _oauth_error(OAuthError("invalid_request", "the body is not a valid form"))
    grant_type = form.get("grant_type", "")
    secret = str(request.app.state.secret_key)
    try:
        if grant_type not in ("authorization_code", "refresh_token"):
            shown = grant_type[:30] or "(none)"
            raise OAuthError("unsupported_grant_type", f"grant_type {shown} is not supported")
        async with db_of(request).write() as session:
            app = await oauth.authenticate_client(
                session,
                form.get("client_id", ""),
                form.get("client_secret", ""),
                server_secret=secret,
            )
            if grant_type == "authorization_code":
                result = await oauth.exchange_code(
                    session,
                    app,
                    form.get("code", ""),
                    server_secret=secret,
                    redirect_uri=form.get("redirect_uri", ""),
                )
            else:
                result = await oauth.refresh(
                    session, app, form.get("refresh_token", ""), server_secret=secret
                )
    except OAuthError as exc:
        return _oauth_error(exc)
    return JSONResponse(result, headers=NO_STORE)
