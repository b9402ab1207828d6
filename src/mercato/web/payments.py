"""The payment channels' server-to-server callbacks.

A channel (here the sandbox, shaped like Alipay) posts the outcome of a payment as a signed
form. These routes carry no CSRF check — the caller is a server, not a browser form — and
trust nothing but the HMAC signature, which ``payments.confirm_sandbox`` verifies. The answer
is plain text, as Alipay expects: ``success`` (also for a replay, so the channel stops
retrying), or an error code with HTTP 400 / 404 and nothing changed.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from mercato import payments
from mercato.kit.db import Database
from mercato.kit.errors import MercatoError
from mercato.models import Payment
from mercato.trade import service as trade
from mercato.web.deps import db_of
from mercato.web.forms import form_dict

router = APIRouter()

SANDBOX_CALLBACK_PATH = "/payments/sandbox/callback"
CALLBACK_FIELDS = ("external_ref", "amount", "status", "timestamp", "sign")
SUCCESS = "success"  # the literal body Alipay's notify protocol expects


def sandbox_secret(request: Request) -> str:
    """The callback secret this server shares with the sandbox channel."""
    return payments.callback_secret(str(request.app.state.secret_key))


def _whole(fields: Mapping[str, str], name: str) -> int:
    try:
        return int(fields[name].strip())
    except ValueError:
        raise payments.CallbackRejected(
            f"{name} must be a whole number", code="invalid_field"
        ) from None


def _missing(fields: Mapping[str, str]) -> list[str]:
    return [name for name in CALLBACK_FIELDS if not fields.get(name, "").strip()]


async def _settle(db: Database, secret: str, fields: Mapping[str, str]) -> None:
    """Verify the callback and, for a payment that has just been paid, mark its trades
    paid — one unit of work, so a failure leaves the payment pending and the ledger as
    it was."""
    missing = _missing(fields)
    if missing:
        raise payments.CallbackRejected(f"missing {', '.join(missing)}", code="missing_field")
    async with db.write() as session:
        payment, changed = await payments.confirm_sandbox(
            session,
            external_ref=fields["external_ref"].strip(),
            amount=_whole(fields, "amount"),
            status=fields["status"].strip(),
            timestamp=_whole(fields, "timestamp"),
            signature=fields["sign"].strip(),
            secret=secret,
        )
        if changed and payment.status == "paid":
            split = await payments.payment_split(session, payment.id)
            await trade.mark_paid(session, [tid for tid, _ in split], payment=payment)


async def answer_callback(
    db: Database, secret: str, fields: Mapping[str, str]
) -> PlainTextResponse:
    """The channel's answer to one callback: ``success``, or the error's code and message
    with its HTTP status. The route and the sandbox cashier both go through here."""
    try:
        await _settle(db, secret, fields)
    except MercatoError as exc:
        return PlainTextResponse(f"{exc.code}: {exc.message}", status_code=exc.status)
    return PlainTextResponse(SUCCESS)


@router.post(SANDBOX_CALLBACK_PATH, include_in_schema=False)
async def sandbox_callback(request: Request) -> PlainTextResponse:
    form = await form_dict(request)
    return await answer_callback(db_of(request), sandbox_secret(request), form)


async def simulate_channel(
    db: Database, secret: str, payment: Payment, status: str
) -> PlainTextResponse:
    """Play the sandbox channel: sign ``status`` for ``payment`` as the channel would and
    deliver it in-process through the same path as a posted callback."""
    signed = payments.callback_for(secret, payment, status)
    fields = {
        "external_ref": str(signed["external_ref"]),
        "amount": str(signed["amount"]),
        "status": str(signed["status"]),
        "timestamp": str(signed["timestamp"]),
        "sign": str(signed["signature"]),
    }
    return await answer_callback(db, secret, fields)
