"""The apps a user has authorized: see them, revoke them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mercato.oauth import service as oauth
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, db_of, require_user
from mercato.web.templating import page

router = APIRouter(dependencies=[Depends(csrf_protect)])


@router.get("/account/apps")
async def authorized_apps(request: Request, revoked: str = "") -> Response:
    user = await require_user(request)
    async with db_of(request).read() as session:
        apps = await oauth.authorized_apps(session, user)
    return await page(request, "account/apps.html", apps=apps, revoked=bool(revoked))


@router.post("/account/apps/{app_id}/revoke")
async def revoke(request: Request, app_id: PathId) -> Response:
    user = await require_user(request)
    async with db_of(request).write() as session:
        await oauth.revoke(session, user, app_id)
    return RedirectResponse("/account/apps?revoked=1", status_code=303)
