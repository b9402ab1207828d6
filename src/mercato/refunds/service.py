"""The refund state machine (TOP's Refund, Alipay-style escrow).

::

    request ─► WAIT_SELLER_AGREE ──agree (REFUND)────────────────────────────► SUCCESS
                 │   │  └─agree (REFUND_AND_RETURN)─► WAIT_BUYER_RETURN_GOODS
                 │   │                                   │ buyer returns goods
                 │   │                                   ▼
                 │   │                             WAIT_SELLER_CONFIRM_GOODS ─confirm─► SUCCESS
                 │   └─refuse─► SELLER_REFUSE_BUYER ◄──refuse──┘
                 │                │ buyer asks the operator (cs_status 1)
                 │                └─ operator decides (cs_status 2) ─► SUCCESS or CLOSED
                 └─ the buyer may close any refund not yet SUCCESS ─► CLOSED

Services flush; the caller's unit of work commits. Every transition locks the trade and
then the refund (the trade service's lock order), checks the current status first and
changes nothing when the move is not allowed (Conflict ``illegal_transition``). Events go
to the outbox (subject ``refund:<id>``) and the timers to the jobs table, in the same
transaction. Each waiting state has one timer (the seller does not answer: agreed; the
buyer does not send the goods back: closed; the seller does not confirm them: refunded),
cancelled when the refund moves on. While a shipped trade has an open refund, its
auto-confirm timer is paused (``trade.service.pause_auto_confirm``). See docs/refunds.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ScalarSelect

from mercato.accounts import service as accounts
from mercato.events import jobs, outbox
from mercato.kit.clock import utcnow
from mercato.kit.errors import Conflict, FieldProblem, NotFound, PermissionDenied, ValidationFailed
from mercato.kit.money import format_fen
from mercato.kit.pagination import Page, PageRequest
from mercato.ledger.accounts import SANDBOX_CHANNEL, seller, wallet
from mercato.ledger.service import balance, lock_account, post, transaction_by_key
from mercato.logistics import service as logistics
from mercato.logistics.carriers import get_carrier
from mercato.models import Order, Payment, Refund, Trade, User
from mercato.models.accounts import Role
from mercato.payments import service as payments
from mercato.refunds import events as ev
from mercato.refunds.schemas import (
    AFTERSALE,
    BUYER_NOT_RECEIVED,
    BUYER_RECEIVED,
    BUYER_RETURNED_GOODS,
    CLOSED,
    CS_DECIDED,
    CS_NONE,
    CS_REQUESTED,
    DISPUTE_TYPES,
    MAX_COMPANY,
    MAX_DESC,
    MAX_REASON,
    MAX_REFUSE_REASON,
    MAX_WAYBILL,
    ONSALE,
    OPEN_STATUSES,
    REFUND,
    REFUND_AND_RETURN,
    SELLER_REFUSE_BUYER,
    STATUSES,
    SUCCESS,
    WAIT_BUYER_RETURN_GOODS,
    WAIT_SELLER_AGREE,
    WAIT_SELLER_CONFIRM_GOODS,
)
from mercato.trade import policy
from mercato.trade import repository as trade_repo
from mercato.trade import service as trade_service
from mercato.trade.schemas import (
    TRADE_FINISHED,
    WAIT_BUYER_CONFIRM_GOODS,
    WAIT_SELLER_SEND_GOODS,
)

# Timers: the defaults of the settings (``mercato.trade.policy.Timeouts``).
AUTO_AGREE_AFTER = policy.DEFAULT.refund_agree  # the seller ignores a request: agreed
RETURN_AFTER = policy.DEFAULT.refund_return  # the buyer never sends the goods: closed
CONFIRM_GOODS_AFTER = policy.DEFAULT.refund_confirm  # the seller never confirms: refunded
AFTERSALE_WINDOW = timedelta(days=15)  # after a trade finished, refunds stay possible

AUTO_AGREE_JOB = "refund.auto_agree"
RETURN_TIMEOUT_JOB = "refund.return_timeout"
CONFIRM_GOODS_TIMEOUT_JOB = "refund.confirm_goods_timeout"


class SellerShortfall(Conflict):
    """An after-sale refund: the seller's account holds less than the refund."""

    code = "seller_insufficient_funds"


def auto_agree_key(refund_id: int) -> str:
    return f"refund_agree:{refund_id}"


def return_timeout_key(refund_id: int) -> str:
    return f"refund_return:{refund_id}"


def confirm_goods_key(refund_id: int) -> str:
    return f"refund_confirm:{refund_id}"


# The waiting states that have a timer: its job kind and key.
_TIMERS = {
    WAIT_SELLER_AGREE: (AUTO_AGREE_JOB, auto_agree_key),
    WAIT_BUYER_RETURN_GOODS: (RETURN_TIMEOUT_JOB, return_timeout_key),
    WAIT_SELLER_CONFIRM_GOODS: (CONFIRM_GOODS_TIMEOUT_JOB, confirm_goods_key),
}


def _wait_of(status: str, timeouts: policy.Timeouts) -> timedelta:
    return {
        WAIT_SELLER_AGREE: timeouts.refund_agree,
        WAIT_BUYER_RETURN_GOODS: timeouts.refund_return,
        WAIT_SELLER_CONFIRM_GOODS: timeouts.refund_confirm,
    }[status]


def payout_key(refund_id: int) -> str:
    """The payments key of a refund's payout (ledger key ``refund:refund:<id>``)."""
    return f"refund:{refund_id}"


# ---------------------------------------------------------------- helpers


def _illegal(refund: Refund, to: str) -> Conflict:
    return Conflict(
        f"refund {refund.id} cannot go from {refund.status} to {to}", code="illegal_transition"
    )


async def _refund_event(session: AsyncSession, refund: Refund, topic: str) -> None:
    """Record a refund event with the refund's next sequence number; the seller hears it."""
    nicks = await accounts.nicks(session, {refund.buyer_id, refund.seller_id})
    refund.event_seq = (refund.event_seq or 0) + 1
    content = ev.refund_content(
        refund,
        buyer_nick=nicks.get(refund.buyer_id, ""),
        seller_nick=nicks.get(refund.seller_id, ""),
    )
    await outbox.record_event(
        session,
        topic=topic,
        subject=ev.refund_subject(refund.id),
        seq=refund.event_seq,
        user_id=refund.seller_id,
        user_nick=nicks.get(refund.seller_id),
        content=content,
    )


def _order_of(trade: Trade, refund: Refund) -> Order:
    return next(o for o in trade.orders if o.id == refund.order_id)


async def _move(
    session: AsyncSession,
    refund: Refund,
    trade: Trade,
    status: str,
    topic: str,
    timeouts: policy.Timeouts | None = None,
) -> None:
    """Set the refund's (and its order's) status and record the event. The timer of the
    state left is cancelled and the new state's timer (if it has one) scheduled; a refund
    that CLOSED lets the trade's paused auto-confirm timer resume."""
    old = refund.status
    refund.status = status
    refund.modified = utcnow()
    order = _order_of(trade, refund)
    order.refund_status = status
    order.refund_id = refund.id
    trade.modified = refund.modified
    if old in _TIMERS and old != status:
        refund.timeout_action_time = None
        await jobs.cancel(session, _TIMERS[old][1](refund.id))
    if status in _TIMERS and old != status:
        kind, key = _TIMERS[status]
        refund.timeout_action_time = refund.modified + _wait_of(status, policy.resolve(timeouts))
        await jobs.schedule(
            session,
            kind=kind,
            key=key(refund.id),
            run_at=refund.timeout_action_time,
            payload={"refund_id": refund.id},
        )
    await _refund_event(session, refund, topic)
    if status == CLOSED:
        await session.flush()
        await trade_service.resume_auto_confirm(session, trade, timeouts)


async def _locked(
    session: AsyncSession,
    refund_id: int,
    *,
    buyer_id: int | None = None,
    seller_id: int | None = None,
) -> tuple[Refund, Trade]:
    """The refund (of this buyer or seller, if given) and its trade, both locked: the trade
    first, then the refund, so refunds and trade transitions take locks in one order."""
    query = select(Refund.trade_id).where(Refund.id == refund_id)
    if buyer_id is not None:
        query = query.where(Refund.buyer_id == buyer_id)
    if seller_id is not None:
        query = query.where(Refund.seller_id == seller_id)
    trade_id = await session.scalar(query)
    if trade_id is None:
        raise NotFound(f"refund {refund_id} does not exist")
    trades = await trade_repo.trades_for_update(session, [trade_id])
    refund = await session.scalar(
        select(Refund)
        .where(Refund.id == refund_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if not trades or refund is None:
        raise NotFound(f"refund {refund_id} does not exist")
    return refund, trades[0]


async def payment_channel(session: AsyncSession, trade_id: int) -> str:
    """The channel that paid the trade (``wallet`` or ``sandbox``): the paid Payment whose
    comma list of trade ids names it; ``wallet`` when none is found."""
    tid = str(int(trade_id))
    rows = await session.scalars(
        select(Payment)
        .where(
            Payment.status == "paid",
            Payment.trade_ids.contains(tid),
        )
        .order_by(Payment.id)
    )
    for payment in rows:
        if tid in payment.trade_ids.split(","):
            return payment.channel
    return "wallet"


async def _pay_out(session: AsyncSession, refund: Refund, trade: Trade) -> None:
    """Send the refund's money back to where the buyer paid from.

    Before the trade finished the money is still in escrow (``refund_to_buyer``). After it
    finished (aftersale) the seller was paid, so the seller's account pays it back; the
    commission already taken is not returned. Idempotent by the refund's id either way.
    """
    channel = await payment_channel(session, trade.id)
    key = payout_key(refund.id)
    if trade.status != TRADE_FINISHED:
        await payments.refund_to_buyer(
            session,
            trade_id=trade.id,
            buyer_id=refund.buyer_id,
            amount=refund.refund_fee,
            channel=channel,
            key=key,
        )
        return
    ledger_key = f"refund:{key}"
    source = seller(refund.seller_id)
    await lock_account(session, source)
    if await transaction_by_key(session, ledger_key) is not None:
        return
    held = await balance(session, source)
    if held < refund.refund_fee:
        raise SellerShortfall(
            f"the seller's account holds {held} fen; the refund needs {refund.refund_fee}"
        )
    target = wallet(refund.buyer_id) if channel == "wallet" else SANDBOX_CHANNEL
    await post(
        session,
        key=ledger_key,
        kind="refund",
        entries=[(source, -refund.refund_fee), (target, refund.refund_fee)],
        trade_id=trade.id,
        memo=f"after-sale refund {refund.id} to buyer {refund.buyer_id} via {channel}",
    )


async def _succeed(
    session: AsyncSession, refund: Refund, trade: Trade, timeouts: policy.Timeouts | None
) -> None:
    """Pay out, mark SUCCESS, and close the trade when every order is refunded in full;
    otherwise a shipped trade's paused auto-confirm timer resumes."""
    await _pay_out(session, refund, trade)
    await _move(session, refund, trade, SUCCESS, ev.REFUND_SUCCESS)
    await session.flush()
    refunded = await trade_service.refunded_by_order(session, trade.id)
    if trade.status in trade_service.PAID_STATUSES and all(
        refunded.get(order.id, 0) >= order.payment for order in trade.orders
    ):
        await trade_service.close_after_refund(session, trade)
    else:
        await trade_service.resume_auto_confirm(session, trade, timeouts)
    await session.flush()


async def _agree(
    session: AsyncSession, refund: Refund, trade: Trade, timeouts: policy.Timeouts | None
) -> None:
    if refund.status != WAIT_SELLER_AGREE:
        to = SUCCESS if refund.dispute_type == REFUND else WAIT_BUYER_RETURN_GOODS
        raise _illegal(refund, to)
    if refund.dispute_type == REFUND:
        refund.modified = utcnow()
        await _refund_event(session, refund, ev.REFUND_SELLER_AGREE)
        await _succeed(session, refund, trade, timeouts)
    else:
        await _move(
            session, refund, trade, WAIT_BUYER_RETURN_GOODS, ev.REFUND_SELLER_AGREE, timeouts
        )
        await session.flush()


# ---------------------------------------------------------------- the buyer asks


def _check_request(dispute_type: str, refund_fee: int, reason: str, desc: str) -> None:
    problems: list[FieldProblem] = []
    if dispute_type not in DISPUTE_TYPES:
        problems.append(
            FieldProblem("dispute_type", "choice", "must be REFUND or REFUND_AND_RETURN")
        )
    if isinstance(refund_fee, bool) or not isinstance(refund_fee, int) or refund_fee <= 0:
        problems.append(FieldProblem("refund_fee", "min", "must be at least 0.01"))
    if not reason.strip():
        problems.append(FieldProblem("reason", "required", "is required"))
    elif len(reason.strip()) > MAX_REASON:
        problems.append(FieldProblem("reason", "max_length", f"at most {MAX_REASON} characters"))
    if len(desc) > MAX_DESC:
        problems.append(FieldProblem("desc", "max_length", f"at most {MAX_DESC} characters"))
    if problems:
        raise ValidationFailed(problems)


async def request_refund(
    session: AsyncSession,
    buyer: User,
    *,
    tid: int,
    oid: int,
    dispute_type: str,
    refund_fee: int,
    reason: str,
    desc: str = "",
    auto_agree_after: timedelta | None = None,
    timeouts: policy.Timeouts | None = None,
) -> Refund:
    """The buyer asks for (part of) an order's payment back, optionally returning the goods.

    The trade must be paid (waiting to ship or shipped) or finished at most
    ``AFTERSALE_WINDOW`` ago (an after-sale refund); goods can be returned only once they
    were shipped; the order must have no open refund; ``refund_fee`` is at most what the
    order paid less what was already refunded on it (rule ``max_refund``). The seller has
    ``auto_agree_after`` (default ``timeouts.refund_agree``) to answer, after which the
    request is agreed for them. A shipped trade's auto-confirm timer pauses meanwhile.
    """
    if auto_agree_after is None:
        auto_agree_after = policy.resolve(timeouts).refund_agree
    _check_request(dispute_type, refund_fee, reason, desc)
    trade = await trade_repo.buyer_trade(session, buyer.id, tid, for_update=True)
    if trade is None:
        raise NotFound(f"trade {tid} does not exist")
    order = next((o for o in trade.orders if o.id == oid), None)
    if order is None:
        raise NotFound(f"order {oid} does not exist in trade {tid}")
    now = utcnow()
    if trade.status in (WAIT_SELLER_SEND_GOODS, WAIT_BUYER_CONFIRM_GOODS):
        phase = ONSALE
    elif (
        trade.status == TRADE_FINISHED
        and trade.end_time is not None
        and now <= trade.end_time + AFTERSALE_WINDOW
    ):
        phase = AFTERSALE
    else:
        raise Conflict(
            f"order {oid} of trade {tid} ({trade.status}) cannot go from "
            f"{order.refund_status} to {WAIT_SELLER_AGREE}",
            code="illegal_transition",
        )
    shipped = trade.consign_time is not None
    if dispute_type == REFUND_AND_RETURN and not shipped:
        raise ValidationFailed.one(
            "dispute_type", "return_after_shipping", "goods can be returned only once shipped"
        )
    if order.refund_status in OPEN_STATUSES:
        raise Conflict(
            f"order {oid} already has an open refund ({order.refund_status})",
            code="refund_open",
        )
    refunded = (await trade_service.refunded_by_order(session, trade.id)).get(order.id, 0)
    left = order.payment - refunded
    if refund_fee > left:
        raise ValidationFailed.one(
            "refund_fee",
            "max_refund",
            f"最多可退 ¥{format_fen(left)} · at most ¥{format_fen(left)} can be refunded",
        )
    if phase == AFTERSALE or (shipped and dispute_type == REFUND_AND_RETURN):
        good_status = BUYER_RECEIVED
    else:
        good_status = BUYER_NOT_RECEIVED
    agree_at = now + auto_agree_after
    refund = Refund(
        trade_id=trade.id,
        order_id=order.id,
        buyer_id=buyer.id,
        seller_id=trade.seller_id,
        dispute_type=dispute_type,
        has_good_return=dispute_type == REFUND_AND_RETURN,
        refund_fee=refund_fee,
        reason=reason.strip(),
        desc=desc,
        status=WAIT_SELLER_AGREE,
        good_status=good_status,
        refund_phase=phase,
        seller_refuse_reason="",
        cs_status=CS_NONE,
        created=now,
        modified=now,
        timeout_action_time=agree_at,
        event_seq=0,
    )
    session.add(refund)
    await session.flush()
    order.refund_status = WAIT_SELLER_AGREE
    order.refund_id = refund.id
    trade.modified = now
    await jobs.schedule(
        session,
        kind=AUTO_AGREE_JOB,
        key=auto_agree_key(refund.id),
        run_at=agree_at,
        payload={"refund_id": refund.id},
    )
    await trade_service.pause_auto_confirm(session, trade)
    await _refund_event(session, refund, ev.REFUND_CREATED)
    await session.flush()
    return refund


# ---------------------------------------------------------------- transitions


async def seller_agree(
    session: AsyncSession,
    seller_user: User,
    refund_id: int,
    *,
    timeouts: policy.Timeouts | None = None,
) -> Refund:
    """The seller agrees: a money-only refund is paid out (SUCCESS); a return waits for the
    goods (WAIT_BUYER_RETURN_GOODS, closed after ``timeouts.refund_return`` if the buyer
    sends nothing)."""
    refund, trade = await _locked(session, refund_id, seller_id=seller_user.id)
    await _agree(session, refund, trade, timeouts)
    return refund


async def _timer_target(
    session: AsyncSession, refund_id: int, status: str
) -> tuple[Refund, Trade] | None:
    """A timer's refund and trade, locked, when the refund still waits in ``status``."""
    trade_id = await session.scalar(select(Refund.trade_id).where(Refund.id == refund_id))
    if trade_id is None:
        return None
    refund, trade = await _locked(session, refund_id)
    if refund.status != status:
        return None
    return refund, trade


async def auto_agree_timeout(
    session: AsyncSession, refund_id: int, *, timeouts: policy.Timeouts | None = None
) -> Refund | None:
    """The timer's agreement: a request still waiting for the seller is agreed; any other
    refund (answered, closed, gone) is left alone, so the timer may run any number of times."""
    found = await _timer_target(session, refund_id, WAIT_SELLER_AGREE)
    if found is None:
        return None
    refund, trade = found
    await _agree(session, refund, trade, timeouts)
    return refund


async def return_timeout(
    session: AsyncSession, refund_id: int, *, timeouts: policy.Timeouts | None = None
) -> Refund | None:
    """The timer of a return the buyer never sent: a refund still waiting for the goods,
    with no return waybill entered, is CLOSED (RefundClosed, as when the buyer closes it).
    Anything else is left alone."""
    found = await _timer_target(session, refund_id, WAIT_BUYER_RETURN_GOODS)
    if found is None or found[0].return_sid:
        return None
    refund, trade = found
    await _move(session, refund, trade, CLOSED, ev.REFUND_CLOSED, timeouts)
    await session.flush()
    return refund


async def confirm_goods_timeout(
    session: AsyncSession, refund_id: int, *, timeouts: policy.Timeouts | None = None
) -> Refund | None:
    """The timer of returned goods the seller never confirmed: the refund succeeds as if
    the seller had confirmed (money back to the buyer, the trade follows). Anything else
    is left alone. An after-sale refund the seller's account cannot cover raises
    ``SellerShortfall``, so the job retries later."""
    found = await _timer_target(session, refund_id, WAIT_SELLER_CONFIRM_GOODS)
    if found is None:
        return None
    refund, trade = found
    await _succeed(session, refund, trade, timeouts)
    return refund


async def seller_refuse(
    session: AsyncSession, seller_user: User, refund_id: int, reason: str
) -> Refund:
    """The seller refuses a request (or the returned goods): SELLER_REFUSE_BUYER, with a
    reason the buyer sees. The buyer may then close it or ask the operator."""
    text = reason.strip()
    if not text:
        raise ValidationFailed.one("reason", "required", "is required")
    if len(text) > MAX_REFUSE_REASON:
        raise ValidationFailed.one(
            "reason", "max_length", f"at most {MAX_REFUSE_REASON} characters"
        )
    refund, trade = await _locked(session, refund_id, seller_id=seller_user.id)
    if refund.status not in (WAIT_SELLER_AGREE, WAIT_SELLER_CONFIRM_GOODS):
        raise _illegal(refund, SELLER_REFUSE_BUYER)
    refund.seller_refuse_reason = text
    await _move(session, refund, trade, SELLER_REFUSE_BUYER, ev.REFUND_SELLER_REFUSE)
    await session.flush()
    return refund


async def buyer_return_goods(
    session: AsyncSession,
    buyer: User,
    refund_id: int,
    company_code: str,
    waybill: str,
    *,
    timeouts: policy.Timeouts | None = None,
) -> Refund:
    """The buyer has sent the goods back: WAIT_SELLER_CONFIRM_GOODS, with the carrier code
    and the return waybill, checked by the logistics service's rule (a carrier in service,
    ``company_code``/unknown_company; its waybill shape, ``waybill``/waybill_format). The
    seller then has ``timeouts.refund_confirm`` to confirm the goods."""
    company = company_code.strip()
    sid = waybill.strip()
    problems: list[FieldProblem] = []
    if not company:
        problems.append(FieldProblem("company_code", "required", "is required"))
    elif len(company) > MAX_COMPANY:
        problems.append(
            FieldProblem("company_code", "max_length", f"at most {MAX_COMPANY} characters")
        )
    if not sid:
        problems.append(FieldProblem("waybill", "required", "is required"))
    elif len(sid) > MAX_WAYBILL:
        problems.append(FieldProblem("waybill", "max_length", f"at most {MAX_WAYBILL} characters"))
    if problems:
        raise ValidationFailed(problems)
    refund, trade = await _locked(session, refund_id, buyer_id=buyer.id)
    if refund.status != WAIT_BUYER_RETURN_GOODS:
        raise _illegal(refund, WAIT_SELLER_CONFIRM_GOODS)
    carrier, sid = await logistics.check_waybill(
        session, company, sid, company_field="company_code", waybill_field="waybill"
    )
    refund.return_company = carrier.code
    refund.return_sid = sid
    refund.good_status = BUYER_RETURNED_GOODS
    await _move(
        session,
        refund,
        trade,
        WAIT_SELLER_CONFIRM_GOODS,
        ev.REFUND_BUYER_RETURN_GOODS,
        timeouts,
    )
    await session.flush()
    return refund


async def seller_confirm_goods(
    session: AsyncSession,
    seller_user: User,
    refund_id: int,
    *,
    timeouts: policy.Timeouts | None = None,
) -> Refund:
    """The seller has the goods back: the refund is paid out (SUCCESS)."""
    refund, trade = await _locked(session, refund_id, seller_id=seller_user.id)
    if refund.status != WAIT_SELLER_CONFIRM_GOODS:
        raise _illegal(refund, SUCCESS)
    await _succeed(session, refund, trade, timeouts)
    return refund


async def buyer_close(
    session: AsyncSession,
    buyer: User,
    refund_id: int,
    *,
    timeouts: policy.Timeouts | None = None,
) -> Refund:
    """The buyer withdraws a refund that has not succeeded: CLOSED."""
    refund, trade = await _locked(session, refund_id, buyer_id=buyer.id)
    if refund.status not in OPEN_STATUSES:
        raise _illegal(refund, CLOSED)
    await _move(session, refund, trade, CLOSED, ev.REFUND_CLOSED, timeouts)
    await session.flush()
    return refund


async def request_intervention(session: AsyncSession, buyer: User, refund_id: int) -> Refund:
    """After the seller refused, the buyer asks the operator to decide (cs_status 1)."""
    refund, _trade = await _locked(session, refund_id, buyer_id=buyer.id)
    if refund.status != SELLER_REFUSE_BUYER or refund.cs_status != CS_NONE:
        raise Conflict(
            f"refund {refund.id} ({refund.status}, cs_status {refund.cs_status}) cannot go "
            f"to intervention",
            code="illegal_transition",
        )
    refund.cs_status = CS_REQUESTED
    refund.modified = utcnow()
    await _refund_event(session, refund, ev.INTER_APPLIED)
    await session.flush()
    return refund


async def operator_decide(
    session: AsyncSession,
    operator: User,
    refund_id: int,
    *,
    refund: bool,
    timeouts: policy.Timeouts | None = None,
) -> Refund:
    """The operator settles a dispute the buyer brought: ``refund=True`` pays the buyer
    (SUCCESS), ``False`` closes the refund (CLOSED); cs_status becomes 2 either way."""
    if not operator.has_role(Role.operator):
        raise PermissionDenied("only an operator decides refund disputes")
    row, trade = await _locked(session, refund_id)
    to = SUCCESS if refund else CLOSED
    if row.status != SELLER_REFUSE_BUYER or row.cs_status != CS_REQUESTED:
        raise _illegal(row, to)
    row.cs_status = CS_DECIDED
    row.modified = utcnow()
    await _refund_event(session, row, ev.INTERVENED)
    if refund:
        await _succeed(session, row, trade, timeouts)
    else:
        await _move(session, row, trade, CLOSED, ev.REFUND_CLOSED, timeouts)
        await session.flush()
    return row


# ---------------------------------------------------------------- reads


async def _page(session: AsyncSession, query: Select[Refund], page: PageRequest) -> Page[Refund]:
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Refund.created.desc(), Refund.id.desc()).offset(page.offset).limit(page.size)
    )
    return Page(items=list(rows), total=int(total or 0), request=page)


async def buyer_refunds(
    session: AsyncSession, buyer: User, page: PageRequest | None = None
) -> Page[Refund]:
    """The buyer's refunds, newest first."""
    return await _page(
        session, select(Refund).where(Refund.buyer_id == buyer.id), page or PageRequest()
    )


async def seller_refunds(
    session: AsyncSession, seller_user: User, status: str | None, page: PageRequest | None = None
) -> Page[Refund]:
    """The refunds the seller received, newest first, optionally of one status."""
    query = select(Refund).where(Refund.seller_id == seller_user.id)
    if status:
        if status not in STATUSES:
            raise ValidationFailed.one("status", "choice", f"unknown status {status}")
        query = query.where(Refund.status == status)
    return await _page(session, query, page or PageRequest())


async def get_refund(session: AsyncSession, viewer: User, refund_id: int) -> Refund:
    """A refund its buyer, its seller or an operator may see; NotFound for anyone else."""
    refund = await session.get(Refund, refund_id)
    if refund is None or not (
        viewer.id in (refund.buyer_id, refund.seller_id) or viewer.has_role(Role.operator)
    ):
        raise NotFound(f"refund {refund_id} does not exist")
    return refund


# ---------------------------------------------------------------- open-platform reads
#
# What TOP's refund methods need beyond the pages: searches with TOP's filters, and the
# orders the refunds are about (for the Refund object's title, price, num, order_status).


@dataclass(frozen=True)
class RefundSearch:
    """A refund search in TOP's terms (``refunds.receive.get``, ``refunds.apply.get``);
    each attribute is named after its TOP parameter, so a ValidationFailed names it.
    ``type`` filters on the trade's type (``guarantee_trade`` = fixed and auction);
    ``buyer_nick`` / ``seller_nick`` name the other party; the modified range is
    inclusive."""

    status: str | None = None
    type: Sequence[str] = ()
    buyer_nick: str | None = None
    seller_nick: str | None = None
    start_modified: datetime | None = None
    end_modified: datetime | None = None


def _user_id_by_nick(nick: str) -> ScalarSelect[int]:
    return select(User.id).where(User.nick_key == nick.strip().lower()).scalar_subquery()


def _filtered(query: Select[Refund], search: RefundSearch) -> Select[Refund]:
    if search.status:
        if search.status not in STATUSES:
            raise ValidationFailed.one("status", "choice", f"unknown status {search.status}")
        query = query.where(Refund.status == search.status)
    if search.type:
        types: list[str] = []
        for name in search.type:
            if name not in trade_service.TRADE_TYPES:
                raise ValidationFailed.one("type", "choice", f"unknown trade type {name}")
            types.extend(trade_service.TYPE_ALIASES.get(name, (name,)))
        query = query.where(Refund.trade_id.in_(select(Trade.id).where(Trade.type.in_(types))))
    if search.buyer_nick:
        query = query.where(Refund.buyer_id == _user_id_by_nick(search.buyer_nick))
    if search.seller_nick:
        query = query.where(Refund.seller_id == _user_id_by_nick(search.seller_nick))
    start, end = search.start_modified, search.end_modified
    if start is not None and end is not None and end < start:
        raise ValidationFailed.one("end_modified", "range", "must not be before start_modified")
    if start is not None:
        query = query.where(Refund.modified >= start)
    if end is not None:
        query = query.where(Refund.modified <= end)
    return query


async def _page_by_modified(
    session: AsyncSession, query: Select[Refund], page: PageRequest
) -> Page[Refund]:
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.scalars(
        query.order_by(Refund.modified.desc(), Refund.id.desc())
        .offset(page.offset)
        .limit(page.size)
    )
    return Page(items=list(rows), total=int(total or 0), request=page)


async def search_received(
    session: AsyncSession, seller_user: User, search: RefundSearch, page: PageRequest
) -> Page[Refund]:
    """The refunds the seller received matching TOP's filters, last modified first."""
    query = _filtered(select(Refund).where(Refund.seller_id == seller_user.id), search)
    return await _page_by_modified(session, query, page)


async def search_applied(
    session: AsyncSession, buyer: User, search: RefundSearch, page: PageRequest
) -> Page[Refund]:
    """The refunds the buyer asked for matching TOP's filters, last modified first."""
    query = _filtered(select(Refund).where(Refund.buyer_id == buyer.id), search)
    return await _page_by_modified(session, query, page)


async def refund_orders(session: AsyncSession, refunds: Iterable[Refund]) -> dict[int, Order]:
    """The orders the refunds are about, by order id (the caller already holds the
    refunds, so their tenancy was checked when they were read)."""
    ids = {r.order_id for r in refunds}
    if not ids:
        return {}
    rows = await session.scalars(select(Order).where(Order.id.in_(ids)))
    return {o.id: o for o in rows}


async def carrier_names(session: AsyncSession, codes: Iterable[str | None]) -> dict[str, str]:
    """Carrier names by code, for the return waybills' ``company_name``."""
    out: dict[str, str] = {}
    for code in {c for c in codes if c}:
        carrier = await get_carrier(session, code)
        out[code] = carrier.name if carrier is not None else code
    return out
