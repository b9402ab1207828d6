"""Sign up, sign in, sign out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mercato.accounts import service as accounts
from mercato.kit.errors import ValidationFailed
from mercato.web.csrf import csrf_protect
from mercato.web.deps import SESSION_COOKIE, current_user, db_of, settings_of
from mercato.web.forms import form_dict, safe_next
from mercato.web.templating import page

router = APIRouter(dependencies=[Depends(csrf_protect)])


def _signed_in(request: Request, token: str, target: str) -> Response:
    settings = settings_of(request)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=settings.session_days * 86400,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
    )
    return response


@router.get("/login")
async def login_form(request: Request, next: str = "/") -> Response:
    if await current_user(request):
        return RedirectResponse(safe_next(next), status_code=303)
    return await page(request, "account/login.html", next=safe_next(next), form={}, errors={})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await form_dict(request)
    target = safe_next(form.get("next"))
    async with db_of(request).read() as session:
        user = await accounts.authenticate(session, form.get("nick", ""), form.get("password", ""))
    if user is None:
        errors = {"form": "wrong nick or password · 账号或密码错误"}
        return await page(request, "account/login.html", 400, next=target, form=form, errors=errors)
    async with db_of(request).write() as session:
        token = await accounts.open_web_session(
            session,
            user,
            days=settings_of(request).session_days,
            user_agent=request.headers.get("user-agent"),
        )
    return _signed_in(request, token, target)


@router.get("/signup")
async def signup_form(request: Request, next: str = "/") -> Response:
    return await page(request, "account/signup.html", next=safe_next(next), form={}, errors={})


@router.post("/signup")
async def signup(request: Request) -> Response:
    form = await form_dict(request)
    target = safe_next(form.get("next"))
    try:
        if form.get("password") != form.get("password2"):
            raise ValidationFailed.one(
                "password2", "match", "the passwords differ · 两次密码不一致"
            )
        data = accounts.parse_sign_up(
            form.get("nick", ""), form.get("password", ""), form.get("email")
        )
        async with db_of(request).write() as session:
            user = await accounts.sign_up(session, data)
            token = await accounts.open_web_session(
                session,
                user,
                days=settings_of(request).session_days,
                user_agent=request.headers.get("user-agent"),
            )
    except ValidationFailed as exc:
        return await page(
            request, "account/signup.html", 422, next=target, form=form, errors=exc.by_field()
        )
    return _signed_in(request, token, target)


@router.post("/logout")
async def logout(request: Request) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with db_of(request).write() as session:
            await accounts.close_web_session(session, token)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response
