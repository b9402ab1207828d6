"""The developer console: my apps, registering one, and an app's settings, packages,
review and secret.

The secret is shown exactly once, in the very response to the create or rotate post: it is
never put in a redirect, a cookie or the session, and that response is marked ``no-store``
so the browser does not keep it either. Every other view shows it masked.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mercato.developer import service as dev
from mercato.developer.packages import PACKAGES
from mercato.developer.schemas import APP_TYPES
from mercato.kit.errors import ValidationFailed
from mercato.models import App, User
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, db_of, require_user
from mercato.web.forms import form_dict
from mercato.web.templating import page

router = APIRouter(prefix="/developer", dependencies=[Depends(csrf_protect)])

APP_TYPE_TITLES = {
    "seller_tool": "卖家工具 Seller tool",
    "buyer_tool": "买家工具 Buyer tool",
    "service_market": "服务市场应用 Service-market app",
}
STATUS_TITLES = {
    dev.DEVELOPMENT: "开发中 In development",
    dev.REVIEWING: "审核中 In review",
    dev.ONLINE: "已上线 Online",
}
NOTICES = {
    "saved": "设置已保存 · Settings saved.",
    "packages": "权限包已更新 · Permission packages updated.",
    "submitted": "已提交审核 · Submitted for review.",
}
# Settings form fields shown next to their inputs; other problems go to the banner.
SETTINGS_FIELDS = ("name", "callback_url", "ip_whitelist")
SECRET_MASK = "•" * 32


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _server_secret(request: Request) -> str:
    return str(request.app.state.secret_key)


def _labels() -> dict[str, Any]:
    return {
        "app_types": APP_TYPES,
        "type_titles": APP_TYPE_TITLES,
        "status_titles": STATUS_TITLES,
        "catalogue": list(PACKAGES.values()),
    }


# ---------------------------------------------------------------- my apps


@router.get("")
async def home(request: Request, user: User = Depends(require_user)) -> Response:
    async with db_of(request).read() as session:
        apps = await dev.my_apps(session, user)
    return await page(request, "developer/home.html", apps=apps, **_labels())


@router.get("/apps/new")
async def new_app_form(request: Request, user: User = Depends(require_user)) -> Response:
    form = {"app_type": APP_TYPES[0], "packages": list(PACKAGES)}
    return await page(request, "developer/new_app.html", form=form, errors={}, **_labels())


@router.post("/apps")
async def create_app(request: Request, user: User = Depends(require_user)) -> Response:
    form: dict[str, Any] = await form_dict(request)
    form["packages"] = (await request.form()).getlist("packages")
    try:
        async with db_of(request).write() as session:
            # The signed-in user was read in another unit; merge it so the developer role
            # granted here is saved with the app.
            owner = await session.merge(user)
            app, secret = await dev.create_app(
                session,
                owner,
                name=form.get("name", ""),
                app_type=form.get("app_type", ""),
                callback_url=form.get("callback_url", ""),
                packages=form["packages"],
                server_secret=_server_secret(request),
            )
    except ValidationFailed as exc:
        errors = exc.by_field()
        return await page(
            request, "developer/new_app.html", 422, form=form, errors=errors, **_labels()
        )
    return await _app_page(request, app, secret=secret, created=True)


# ---------------------------------------------------------------- one app


async def _app_page(
    request: Request,
    app: App,
    status_code: int = 200,
    *,
    secret: str | None = None,
    **extra: Any,
) -> Response:
    context: dict[str, Any] = {
        "app": app,
        "held": set(dev.package_names(app)),
        "limits": dev.limits_for(app),
        "secret": secret,
        "secret_mask": SECRET_MASK,
        "notice": NOTICES.get(request.query_params.get("msg", "")),
        "form": {
            "name": app.name,
            "callback_url": app.callback_url,
            "ip_whitelist": app.ip_whitelist,
        },
        "errors": {},
        "problems": [],
        **_labels(),
    }
    context.update(extra)
    response = await page(request, "developer/app.html", status_code, **context)
    if secret is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


async def _own(request: Request, user: User, app_id: int) -> App:
    async with db_of(request).read() as session:
        return await dev.get_own_app(session, user, app_id)


@router.get("/apps/{app_id}")
async def app_detail(
    request: Request, app_id: PathId, user: User = Depends(require_user)
) -> Response:
    return await _app_page(request, await _own(request, user, app_id))


@router.post("/apps/{app_id}")
async def update_settings(
    request: Request, app_id: PathId, user: User = Depends(require_user)
) -> Response:
    form = await form_dict(request)
    try:
        async with db_of(request).write() as session:
            app = await dev.get_own_app(session, user, app_id)
            await dev.update_app(
                session,
                app,
                name=form.get("name", ""),
                callback_url=form.get("callback_url", ""),
                ip_whitelist=form.get("ip_whitelist", ""),
            )
    except ValidationFailed as exc:
        return await _refused(request, user, app_id, exc, form=form)
    return _redirect(f"/developer/apps/{app_id}?msg=saved")


@router.post("/apps/{app_id}/packages")
async def update_packages(
    request: Request, app_id: PathId, user: User = Depends(require_user)
) -> Response:
    chosen = [str(v) for v in (await request.form()).getlist("packages")]
    try:
        async with db_of(request).write() as session:
            app = await dev.get_own_app(session, user, app_id)
            await dev.set_packages(session, app, chosen)
    except ValidationFailed as exc:
        return await _refused(request, user, app_id, exc)
    return _redirect(f"/developer/apps/{app_id}?msg=packages")


@router.post("/apps/{app_id}/submit")
async def submit(request: Request, app_id: PathId, user: User = Depends(require_user)) -> Response:
    try:
        async with db_of(request).write() as session:
            app = await dev.get_own_app(session, user, app_id)
            await dev.submit_for_review(session, app)
    except ValidationFailed as exc:
        return await _refused(request, user, app_id, exc)
    return _redirect(f"/developer/apps/{app_id}?msg=submitted")


@router.post("/apps/{app_id}/rotate-secret")
async def rotate_secret(
    request: Request, app_id: PathId, user: User = Depends(require_user)
) -> Response:
    async with db_of(request).write() as session:
        app = await dev.get_own_app(session, user, app_id)
        secret = await dev.rotate_secret(session, app, server_secret=_server_secret(request))
    return await _app_page(request, app, secret=secret)


async def _refused(
    request: Request, user: User, app_id: int, exc: ValidationFailed, **extra: Any
) -> Response:
    """The app page again (as stored: the refused post changed nothing) with the problems:
    settings fields inline, the rest in the banner."""
    app = await _own(request, user, app_id)
    errors = exc.by_field()
    problems = [p.message for p in exc.problems if p.field not in SETTINGS_FIELDS]
    return await _app_page(request, app, 422, errors=errors, problems=problems, **extra)
