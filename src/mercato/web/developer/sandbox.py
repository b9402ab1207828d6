"""The developer console's sandbox page: place, pay, ship, confirm and refund trades as
their buyer or seller, and move the shared clock, without writing a client. Every form
calls ``mercato.developer.sandbox``, the service behind `mercato sandbox …` too, and the
page answers with the result (trade and status) or the refusal inline.

Developers only, and only while ``MERCATO_SANDBOX_TOOLS`` is on: the tools act for anyone
in the marketplace."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.developer import sandbox
from mercato.kit.errors import MercatoError, ValidationFailed
from mercato.kit.money import parse_yuan
from mercato.models import User
from mercato.trade.policy import Timeouts
from mercato.web.csrf import csrf_protect
from mercato.web.deps import db_of, require_developer, settings_of, timeouts_of
from mercato.web.forms import form_dict
from mercato.web.templating import page

router = APIRouter(prefix="/developer/sandbox", dependencies=[Depends(csrf_protect)])

Action = Callable[[AsyncSession, dict[str, str], Timeouts], Awaitable[Any]]
_ID = re.compile(r"\d{1,18}", re.ASCII)


async def sandbox_user(request: Request) -> User:
    """A developer, on an install whose sandbox tools are on."""
    sandbox.check_enabled(settings_of(request))
    return await require_developer(request)


def _id(form: dict[str, str], field: str, default: int | None = None) -> int:
    """A positive whole number from the form (``default`` when left empty)."""
    raw = form.get(field, "").strip()
    if not raw and default is not None:
        return default
    if not _ID.fullmatch(raw):
        raise ValidationFailed.one(field, "integer", "请输入整数 · enter a whole number")
    return int(raw)


async def _order(session: AsyncSession, form: dict[str, str], timeouts: Timeouts) -> Any:
    return await sandbox.place_order(
        session,
        form.get("buyer", ""),
        num_iid=_id(form, "num_iid"),
        sku_id=_id(form, "sku_id", 0),
        quantity=_id(form, "quantity", 1),
        pay=bool(form.get("pay")),
        timeouts=timeouts,
    )


async def _pay(session: AsyncSession, form: dict[str, str], _timeouts: Timeouts) -> Any:
    return await sandbox.pay_trade(session, form.get("buyer", ""), _id(form, "tid"))


async def _ship(session: AsyncSession, form: dict[str, str], timeouts: Timeouts) -> Any:
    return await sandbox.ship(
        session,
        _id(form, "tid"),
        company=form.get("company", "").strip() or None,
        waybill=form.get("waybill", "").strip() or None,
        timeouts=timeouts,
    )


async def _confirm(session: AsyncSession, form: dict[str, str], _timeouts: Timeouts) -> Any:
    return await sandbox.confirm(session, form.get("buyer", ""), _id(form, "tid"))


async def _refund(session: AsyncSession, form: dict[str, str], timeouts: Timeouts) -> Any:
    amount = form.get("amount", "").strip()
    return await sandbox.refund(
        session,
        form.get("buyer", ""),
        _id(form, "tid"),
        oid=_id(form, "oid") if form.get("oid", "").strip() else None,
        amount=parse_yuan(amount, "amount") if amount else None,
        reason=form.get("reason", "").strip() or sandbox.DEFAULT_REASON,
        return_goods=bool(form.get("return_goods")),
        timeouts=timeouts,
    )


ACTIONS: dict[str, Action] = {
    "order": _order,
    "pay": _pay,
    "ship": _ship,
    "confirm": _confirm,
    "refund": _refund,
}


async def _page(request: Request, status_code: int = 200, **context: Any) -> Response:
    async with db_of(request).read() as session:
        state = await sandbox.clock_state(session)
        cast = await sandbox.cast(session)
    context.setdefault("form", {})
    return await page(
        request,
        "developer/sandbox.html",
        status_code,
        clock=state,
        cast=cast,
        default_reason=sandbox.DEFAULT_REASON,
        **context,
    )


@router.get("")
async def sandbox_page(request: Request, user: User = Depends(sandbox_user)) -> Response:
    return await _page(request)


@router.post("/clock")
async def move_clock(request: Request, user: User = Depends(sandbox_user)) -> Response:
    form = await form_dict(request)
    try:
        moved = await sandbox.move_clock(
            db_of(request),
            advance=None if form.get("reset") else form.get("advance", ""),
            reset=bool(form.get("reset")),
        )
    except MercatoError as exc:
        return await _page(request, exc.status, action="clock", form=form, error=exc.message)
    return await _page(request, action="clock", form=form, moved=moved)


@router.post("/{action}")
async def act(request: Request, action: str, user: User = Depends(sandbox_user)) -> Response:
    run = ACTIONS.get(action)
    if run is None:
        return await _page(request, 404, error=f"no sandbox action {action!r}")
    form = await form_dict(request)
    try:
        async with db_of(request).write() as session:
            result = await run(session, form, timeouts_of(request))
    except MercatoError as exc:
        return await _page(request, exc.status, action=action, form=form, error=exc.message)
    return await _page(request, action=action, form=form, result=result.as_dict())
