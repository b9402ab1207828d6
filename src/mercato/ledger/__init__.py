"""The double-entry ledger: the one place where money moves (see docs/payments.md)."""

from mercato.ledger.accounts import (
    COMMISSION,
    DEPOSITS,
    ESCROW,
    SANDBOX_CHANNEL,
    account_kind,
    seller,
    wallet,
)
from mercato.ledger.service import (
    account_id,
    balance,
    deposit,
    lock_account,
    post,
    transaction_by_key,
    trial_balance,
    unbalanced_transactions,
)

__all__ = [
    "COMMISSION",
    "DEPOSITS",
    "ESCROW",
    "SANDBOX_CHANNEL",
    "account_id",
    "account_kind",
    "balance",
    "deposit",
    "lock_account",
    "post",
    "seller",
    "transaction_by_key",
    "trial_balance",
    "unbalanced_transactions",
    "wallet",
]
