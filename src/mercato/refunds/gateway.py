"""TOP methods of the refunds domain (registered with mercato.gateway.registry).

Thin adapters over ``mercato.refunds.service``: the service holds the rules, the tenancy
(another seller's or buyer's refund is NotFound) and the outbox events; this module parses
TOP's parameters and renders TOP's Refund object (TOP-PROTOCOL.md §9.5). See
docs/api-methods.md, "Refunds".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.accounts import service as accounts
from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.envelope import Fen, FieldSelection
from mercato.gateway.params import comma_list, top_time
from mercato.gateway.registry import TopParams
from mercato.kit.errors import FieldProblem, MercatoError, ValidationFailed
from mercato.kit.pagination import Page, PageRequest
from mercato.models import Order, Refund, User
from mercato.refunds import service as refunds
from mercato.refunds.schemas import AFTERSALE, ONSALE

REFUND_LISTS = {"refunds": "refund"}
MAX_PAGE_SIZE = 100
MAX_AGREE = 20  # refunds per rp.refunds.agree call
# Mercato's cs_status (0 none, 1 asked, 2 decided) in TOP's 1–11 scale: 1 no customer
# service needed, 2 customer service needed, 6 customer service finished.
_TOP_CS_STATUS = {0: 1, 1: 2, 2: 6}
_DATE_ONLY = "%Y-%m-%d"


# ---------------------------------------------------------------- parameters


# ---------------------------------------------------------------- the Refund object


def refund_object(
    refund: Refund,
    order: Order | None,
    nicks: Mapping[int, str],
    carriers: Mapping[str, str],
) -> dict[str, Any]:
    """TOP's Refund (§9.5) for one refund and its order: every field Mercato has; the
    caller selects the requested ones."""
    obj: dict[str, Any] = {
        "refund_id": str(refund.id),
        "tid": refund.trade_id,
        "oid": refund.order_id,
        "buyer_nick": nicks.get(refund.buyer_id),
        "seller_nick": nicks.get(refund.seller_id),
        "refund_fee": Fen(refund.refund_fee),
        "status": refund.status,
        "good_status": refund.good_status,
        "has_good_return": refund.has_good_return,
        "reason": refund.reason,
        "desc": refund.desc,
        "created": refund.created,
        "modified": refund.modified,
        "company_name": carriers.get(refund.return_company or ""),
        "sid": refund.return_sid,
        "refund_phase": refund.refund_phase,
        "dispute_type": refund.dispute_type,
        "cs_status": _TOP_CS_STATUS.get(refund.cs_status),
    }
    if order is not None:
        obj.update(
            title=order.title,
            num=order.num,
            num_iid=order.item_id,
            price=Fen(order.price),
            total_fee=Fen(order.total_fee),
            payment=Fen(order.payment),
            order_status=order.status,
            sku=order.sku_properties_name or None,
            outer_id=order.outer_iid,
        )
    return envelope.with_str_twins(obj, "tid", "oid")


def _selected(obj: dict[str, Any], selection: FieldSelection) -> dict[str, Any]:
    """The requested fields, with the ``*_str`` twin of a requested ``tid``/``oid``."""
    picked = selection.apply(obj)
    return envelope.with_str_twins(picked, "tid", "oid")


async def refund_objects(
    session: AsyncSession, rows: Sequence[Refund], selection: FieldSelection
) -> list[dict[str, Any]]:
    """The requested fields of TOP's Refund for each refund, in order."""
    orders = await refunds.refund_orders(session, rows)
    nicks = await accounts.nicks(session, {r.buyer_id for r in rows} | {r.seller_id for r in rows})
    carriers = await refunds.carrier_names(session, (r.return_company for r in rows))
    return [
        _selected(refund_object(r, orders.get(r.order_id), nicks, carriers), selection)
        for r in rows
    ]


# ---------------------------------------------------------------- lists


class ReceiveParams(TopParams):
    fields: str
    status: str | None = None
    type: str | None = None
    start_modified: str | None = None
    end_modified: str | None = None
    buyer_nick: str | None = None
    page_no: int | None = None
    page_size: int | None = None
    use_has_next: bool = False


class ApplyParams(TopParams):
    fields: str
    seller_nick: str | None = None
    status: str | None = None
    type: str | None = None
    page_no: int | None = None
    page_size: int | None = None
    use_has_next: bool = False


_LIST_EXAMPLE = {
    "total_results": 1,
    "refunds": [
        {
            "refund_id": "10001",
            "tid": 2001,
            "oid": 3001,
            "status": "WAIT_SELLER_AGREE",
            "refund_fee": "10.00",
            "modified": "2026-01-01 12:00:00",
        }
    ],
}


async def _page_of(
    ctx: CallContext,
    page: Page[Refund],
    selection: FieldSelection,
    paging: envelope.Paging,
) -> dict[str, Any]:
    listed = await refund_objects(ctx.db_session, page.items, selection)
    meta: dict[str, Any] = (
        {"has_next": page.has_next} if paging.use_has_next else {"total_results": page.total}
    )
    return {**meta, "refunds": listed or None}  # TOP omits an empty list


@registry.method(
    "taobao.refunds.receive.get",
    params=ReceiveParams,
    package="refunds",
    session=True,
    role="seller",
    fields=("total_results", "has_next", "refunds"),
    lists=REFUND_LISTS,
    max_page_size=MAX_PAGE_SIZE,
    description="The refunds the session's seller received, last modified first, with TOP's "
    "filters (status, trade type, modified range, buyer nick).",
    example=_LIST_EXAMPLE,
)
async def refunds_receive_get(ctx: CallContext, params: ReceiveParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, REFUND_LISTS)
    paging = envelope.paging(
        params.page_no,
        params.page_size,
        max_page_size=MAX_PAGE_SIZE,
        use_has_next=params.use_has_next,
    )
    zone = ctx.settings.zone
    search = refunds.RefundSearch(
        status=params.status,
        type=comma_list(params.type),
        buyer_nick=params.buyer_nick,
        start_modified=top_time(params.start_modified, "start_modified", zone),
        end_modified=top_time(params.end_modified, "end_modified", zone),
    )
    page = await refunds.search_received(
        ctx.db_session, ctx.session_user, search, PageRequest(paging.page_no, paging.page_size)
    )
    return await _page_of(ctx, page, selection, paging)


@registry.method(
    "taobao.refunds.apply.get",
    params=ApplyParams,
    package="refunds",
    session=True,
    role="buyer",
    fields=("total_results", "has_next", "refunds"),
    lists=REFUND_LISTS,
    max_page_size=MAX_PAGE_SIZE,
    description="The refunds the session's buyer asked for, last modified first, with TOP's "
    "filters (status, trade type, seller nick).",
    example=_LIST_EXAMPLE,
)
async def refunds_apply_get(ctx: CallContext, params: ApplyParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields, REFUND_LISTS)
    paging = envelope.paging(
        params.page_no,
        params.page_size,
        max_page_size=MAX_PAGE_SIZE,
        use_has_next=params.use_has_next,
    )
    search = refunds.RefundSearch(
        status=params.status, type=comma_list(params.type), seller_nick=params.seller_nick
    )
    page = await refunds.search_applied(
        ctx.db_session, ctx.session_user, search, PageRequest(paging.page_no, paging.page_size)
    )
    return await _page_of(ctx, page, selection, paging)


# ---------------------------------------------------------------- one refund


class RefundGetParams(TopParams):
    fields: str
    refund_id: int


@registry.method(
    "taobao.refund.get",
    params=RefundGetParams,
    package="refunds",
    session=True,
    role="any",
    fields=("refund",),
    description="One refund, for its seller or its buyer (anyone else: 15 isv.not-found).",
    example={"refund": {"refund_id": "10001", "status": "WAIT_SELLER_AGREE"}},
)
async def refund_get(ctx: CallContext, params: RefundGetParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields)
    refund = await refunds.get_refund(ctx.db_session, ctx.session_user, params.refund_id)
    (obj,) = await refund_objects(ctx.db_session, [refund], selection)
    return {"refund": obj}


# ---------------------------------------------------------------- the seller answers


class RefuseParams(TopParams):
    refund_id: int
    refuse_message: str
    tid: int | None = None
    oid: int | None = None
    refund_phase: str | None = None
    refund_version: int | None = None  # accepted; Mercato checks no version
    refuse_reason_id: int | None = None  # accepted; the message is the reason


def _check_refuse_target(refund: Refund, params: RefuseParams) -> None:
    """TOP's optional ``tid``/``oid``/``refund_phase`` must describe the same refund."""
    problems: list[FieldProblem] = []
    if params.tid is not None and params.tid != refund.trade_id:
        problems.append(FieldProblem("tid", "mismatch", "is not the refund's trade"))
    if params.oid is not None and params.oid != refund.order_id:
        problems.append(FieldProblem("oid", "mismatch", "is not the refund's order"))
    if params.refund_phase is not None and params.refund_phase != refund.refund_phase:
        problems.append(FieldProblem("refund_phase", "mismatch", "is not the refund's phase"))
    if problems:
        raise ValidationFailed(problems)


@registry.method(
    "taobao.refund.refuse",
    params=RefuseParams,
    package="refunds",
    session=True,
    role="seller",
    write=True,
    fields=("is_success", "refund"),
    description="The seller refuses a refund (WAIT_SELLER_AGREE or WAIT_SELLER_CONFIRM_GOODS "
    "→ SELLER_REFUSE_BUYER) with a message the buyer sees.",
    example={
        "is_success": True,
        "refund": {
            "refund_id": "10001",
            "status": "SELLER_REFUSE_BUYER",
            "modified": "2026-01-01 12:00:00",
        },
    },
)
async def refund_refuse(ctx: CallContext, params: RefuseParams) -> dict[str, Any]:
    if params.refund_phase is not None and params.refund_phase not in (ONSALE, AFTERSALE):
        raise ValidationFailed.one("refund_phase", "choice", "must be onsale or aftersale")
    user = ctx.session_user
    if params.tid is not None or params.oid is not None or params.refund_phase is not None:
        _check_refuse_target(
            await refunds.get_refund(ctx.db_session, user, params.refund_id), params
        )
    try:
        refund = await refunds.seller_refuse(
            ctx.db_session, user, params.refund_id, params.refuse_message
        )
    except ValidationFailed as exc:  # the service calls the message "reason"
        raise ValidationFailed(
            [
                FieldProblem(
                    "refuse_message" if p.field == "reason" else p.field, p.rule, p.message
                )
                for p in exc.problems
            ]
        ) from None
    return {
        "is_success": True,
        "refund": {
            "refund_id": str(refund.id),
            "status": refund.status,
            "modified": refund.modified,
        },
    }


class AgreeParams(TopParams):
    refund_infos: str
    code: str | None = None  # TOP's SMS verification code; Mercato needs none


def parse_refund_infos(raw: str) -> list[tuple[int, int | None]]:
    """``refund_id|amount|version[|phase]`` entries (or bare refund ids), comma-separated:
    (refund id, amount in fen or None), duplicates dropped; 41 on anything else."""
    out: dict[int, int | None] = {}
    for entry in comma_list(raw):
        parts = [p.strip() for p in entry.split("|")]
        try:
            refund_id = int(parts[0])
            amount = int(parts[1]) if len(parts) > 1 and parts[1] else None
            if len(parts) > 2 and parts[2]:
                int(parts[2])  # the version: a number, not checked further
        except ValueError:
            raise ValidationFailed.one(
                "refund_infos", "format", f"{entry!r} is not refund_id|amount|version"
            ) from None
        if refund_id <= 0 or (amount is not None and amount <= 0):
            raise ValidationFailed.one("refund_infos", "format", f"{entry!r} is not valid")
        out.setdefault(refund_id, amount)
    if not out:
        raise ValidationFailed.one("refund_infos", "missing", "refund_infos is required")
    if len(out) > MAX_AGREE:
        raise ValidationFailed.one(
            "refund_infos", "max_items", f"at most {MAX_AGREE} refunds per call"
        )
    return list(out.items())


async def _agree_one(
    session: AsyncSession, user: User, refund_id: int, amount: int | None
) -> dict[str, Any]:
    """Agree one refund in its own savepoint: a failure undoes only this refund."""
    try:
        async with session.begin_nested():
            if amount is not None:
                refund = await refunds.get_refund(session, user, refund_id)
                if refund.refund_fee != amount:
                    return {
                        "refund_id": str(refund_id),
                        "succ": False,
                        "message": f"amount {amount} is not the refund fee {refund.refund_fee}",
                    }
            await refunds.seller_agree(session, user, refund_id)
    except MercatoError as exc:
        return {"refund_id": str(refund_id), "succ": False, "message": exc.message}
    return {"refund_id": str(refund_id), "succ": True, "message": "agreed"}


@registry.method(
    "taobao.rp.refunds.agree",
    params=AgreeParams,
    package="refunds",
    session=True,
    role="seller",
    write=True,
    fields=("msg", "succ", "results"),
    lists={"results": "refund_mapping_result"},
    description="The seller agrees refunds (at most 20): a money-only refund is paid out, a "
    "return waits for the goods. Each refund succeeds or fails on its own.",
    example={
        "msg": "1 of 1 refunds agreed",
        "succ": True,
        "results": [{"refund_id": "10001", "succ": True, "message": "agreed"}],
    },
)
async def rp_refunds_agree(ctx: CallContext, params: AgreeParams) -> dict[str, Any]:
    entries = parse_refund_infos(params.refund_infos)
    user = ctx.session_user
    results = [
        await _agree_one(ctx.db_session, user, refund_id, amount) for refund_id, amount in entries
    ]
    agreed = sum(1 for r in results if r["succ"])
    return {
        "msg": f"{agreed} of {len(results)} refunds agreed",
        "succ": agreed == len(results),
        "results": results,
    }
