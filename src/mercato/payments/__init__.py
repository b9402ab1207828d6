"""Payments and the escrow flows the trade domain calls (see docs/payments.md)."""

from mercato.payments.sandbox import (
    CallbackRejected,
    callback_for,
    canonical_callback,
    confirm_sandbox,
    sandbox_ref,
    sign_callback,
    start_sandbox,
)
from mercato.payments.service import (
    DEFAULT_COMMISSION_RATE,
    EscrowShortfall,
    IdempotencyConflict,
    InsufficientFunds,
    charge_wallet,
    commission_for,
    commission_rate,
    escrow_held,
    refund_to_buyer,
    release_to_seller,
)

__all__ = [
    "DEFAULT_COMMISSION_RATE",
    "CallbackRejected",
    "EscrowShortfall",
    "IdempotencyConflict",
    "InsufficientFunds",
    "callback_for",
    "canonical_callback",
    "charge_wallet",
    "commission_for",
    "commission_rate",
    "confirm_sandbox",
    "escrow_held",
    "refund_to_buyer",
    "release_to_seller",
    "sandbox_ref",
    "sign_callback",
    "start_sandbox",
]
