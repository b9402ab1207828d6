"""The operator's app review queue: approve an app (it goes online) or send it back.

A minimal page until the operator console arrives; the rule that only operators review
lives in the developer service, so this page cannot bypass it.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mercato.accounts import service as accounts
from mercato.developer import service as dev
from mercato.kit.errors import ValidationFailed
from mercato.models import User
from mercato.web.csrf import csrf_protect
from mercato.web.deps import PathId, db_of, require_user
from mercato.web.developer.views import APP_TYPE_TITLES
from mercato.web.forms import form_dict
from mercato.web.templating import page

router = APIRouter(prefix="/operator/apps", dependencies=[Depends(csrf_protect)])

NOTICES = {
    "approved": "已通过，应用已上线 · Approved: the app is online.",
    "rejected": "已驳回，应用回到开发中 · Rejected: the app is back in development.",
}


@router.get("")
async def queue(request: Request, user: User = Depends(require_user)) -> Response:
    return await _queue(request, user)


async def _queue(
    request: Request, user: User, status_code: int = 200, problems: list[str] | None = None
) -> Response:
    async with db_of(request).read() as session:
        apps = await dev.apps_awaiting_review(session, user)
        owners = await accounts.nicks(session, {a.owner_id for a in apps})
    return await page(
        request,
        "operator/apps.html",
        status_code,
        apps=apps,
        owners=owners,
        type_titles=APP_TYPE_TITLES,
        package_names=dev.package_names,
        notice=NOTICES.get(request.query_params.get("msg", "")),
        problems=problems or [],
    )


@router.post("/{app_id}/review")
async def decide(request: Request, app_id: PathId, user: User = Depends(require_user)) -> Response:
    form = await form_dict(request)
    try:
        approve = _decision(form.get("decision", ""))
        async with db_of(request).write() as session:
            app = await dev.app_for_review(session, user, app_id)
            await dev.review(session, user, app, approve)
    except ValidationFailed as exc:
        return await _queue(request, user, 422, [p.message for p in exc.problems])
    return RedirectResponse(
        f"/operator/apps?msg={'approved' if approve else 'rejected'}", status_code=303
    )


def _decision(value: str) -> bool:
    if value not in ("approve", "reject"):
        raise ValidationFailed.one("decision", "choice", "approve or reject")
    return value == "approve"
