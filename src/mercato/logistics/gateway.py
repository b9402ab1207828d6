"""TOP methods of the logistics domain (registered with mercato.gateway.registry).

Thin adapters (DESIGN.md rule 3) over ``logistics.service`` and ``logistics.carriers``;
shapes per TOP-PROTOCOL.md §9.6.
"""

from __future__ import annotations

from typing import Any

from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.errors import GatewayError
from mercato.gateway.registry import TopParams
from mercato.kit.errors import ValidationFailed
from mercato.logistics import service
from mercato.logistics.carriers import get_carrier, list_carriers
from mercato.models import Carrier
from mercato.trade.policy import Timeouts

# Offline-send problems TOP reports as business errors (code 15), not as bad arguments:
# the carrier is not in service, the waybill does not have its shape.
_SHIPPING_RULES = frozenset({"unknown_company", "waybill_format"})


def company_shape(carrier: Carrier) -> dict[str, Any]:
    """TOP's LogisticsCompany: ``id``, ``code``, ``name``, ``reg_mail_no``."""
    return {
        "id": carrier.id,
        "code": carrier.code,
        "name": carrier.name,
        "reg_mail_no": carrier.reg_mail_no,
    }


class CompaniesParams(TopParams):
    fields: str
    is_recommended: bool | None = None
    order_mode: str | None = None


@registry.method(
    "taobao.logistics.companies.get",
    params=CompaniesParams,
    package="logistics",
    fields=("logistics_companies",),
    lists={"logistics_companies": "logistics_company"},
    description="The carriers in service (id, code, name, reg_mail_no). App-level, no session.",
    example={
        "logistics_companies": [
            {"id": 1, "code": "SF", "name": "顺丰速运", "reg_mail_no": r"^SF\d{12}$"}
        ]
    },
)
async def logistics_companies_get(ctx: CallContext, params: CompaniesParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields)
    carriers = await list_carriers(ctx.db_session)
    return {"logistics_companies": [selection.apply(company_shape(c)) for c in carriers]}


class OfflineSendParams(TopParams):
    tid: int
    out_sid: str
    company_code: str
    sub_tid: str | None = None
    is_split: int = 0
    sender_id: str | None = None
    cancel_id: str | None = None
    feature: str | None = None
    seller_ip: str | None = None


def _sub_tids(raw: str | None) -> list[int]:
    """``sub_tid``: a comma list of at most 50 order ids."""
    parts = [p.strip() for p in (raw or "").split(",") if p.strip()]
    if not parts:
        raise ValidationFailed.one("sub_tid", "missing", "sub_tid is required with is_split=1")
    if len(parts) > 50 or not all(p.isdigit() for p in parts):
        raise ValidationFailed.one("sub_tid", "format", "at most 50 order ids, comma separated")
    return [int(p) for p in parts]


@registry.method(
    "taobao.logistics.offline.send",
    params=OfflineSendParams,
    package="logistics",
    session=True,
    role="seller",
    write=True,
    fields=("shipping",),
    description="Ship a paid trade (or, with is_split=1, the orders in sub_tid) with a "
    "carrier's waybill; the trade waits for the buyer once every order has left.",
    example={"shipping": {"is_success": True}},
)
async def logistics_offline_send(ctx: CallContext, params: OfflineSendParams) -> dict[str, Any]:
    if params.is_split not in (0, 1):
        raise ValidationFailed.one("is_split", "choice", "must be 0 or 1")
    order_ids = _sub_tids(params.sub_tid) if params.is_split == 1 else None
    try:
        await service.offline_send(
            ctx.db_session,
            ctx.session_user,
            params.tid,
            company_code=params.company_code,
            out_sid=params.out_sid,
            order_ids=order_ids,
            timeouts=Timeouts.from_settings(ctx.settings),
        )
    except ValidationFailed as exc:
        first = exc.problems[0] if exc.problems else None
        if first is not None and first.rule in _SHIPPING_RULES:
            raise GatewayError(
                15, "isv." + first.rule.replace("_", "-"), first.message, slug=first.rule
            ) from None
        if first is not None and first.field == "order_ids":
            raise ValidationFailed.one("sub_tid", first.rule, first.message) from None
        raise
    return {"shipping": {"is_success": True}}


class TraceParams(TopParams):
    tid: int
    is_split: int = 0
    sub_tid: str | None = None
    seller_nick: str | None = None


@registry.method(
    "taobao.logistics.trace.search",
    params=TraceParams,
    package="logistics",
    session=True,
    role="any",
    fields=("out_sid", "company_name", "tid", "status", "trace_list"),
    lists={"trace_list": "transit_step_info"},
    description="A trade's parcel and its steps, for its seller or its buyer. With "
    "sub_tid: the parcel carrying that order; otherwise the latest parcel.",
    example={
        "out_sid": "SF123456789012",
        "company_name": "顺丰速运",
        "tid": 1001,
        "status": "GOT",
        "trace_list": [{"status_time": "2026-01-01 12:00:00", "status_desc": "…", "action": "GOT"}],
    },
)
async def logistics_trace_search(ctx: CallContext, params: TraceParams) -> dict[str, Any]:
    parcels = await service.trace(ctx.db_session, ctx.session_user, params.tid)
    wanted = _sub_tids(params.sub_tid)[0] if params.sub_tid else None
    if wanted is not None:
        parcels = [p for p in parcels if wanted in service.shipment_order_ids(p[0])]
    if not parcels:  # nothing shipped yet: the trade alone, no trace (TOP omits empty lists)
        return {"tid": params.tid}
    shipment, steps = parcels[-1]
    carrier = await get_carrier(ctx.db_session, shipment.carrier_code)
    return {
        "out_sid": shipment.waybill,
        "company_name": carrier.name if carrier else shipment.carrier_code,
        "tid": params.tid,
        "status": shipment.status,
        "trace_list": [
            {"status_time": s.occurred_at, "status_desc": s.description, "action": s.action}
            for s in steps
        ],
    }
