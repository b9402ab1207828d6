"""Ledger account codes.

An account is named by its code and created on first use. The kind (stored on the row) is
derived from the code, and so is the owning user for wallets and seller accounts.
"""

from __future__ import annotations

ESCROW = "escrow"  # money buyers have paid and sellers have not yet received (Alipay escrow)
COMMISSION = "commission"  # platform revenue
DEPOSITS = "channel:deposit"  # money entering wallets from outside (e.g. demo top-ups)
SANDBOX_CHANNEL = "channel:sandbox"  # the simulated external payment channel

# Accounts that stand for the outside world: their balance is normally negative (money that
# came in from there) and is never checked for overdraft.
EXTERNAL_PREFIX = "channel:"


def wallet(user_id: int) -> str:
    """A buyer's spendable balance."""
    return f"wallet:{int(user_id)}"


def seller(user_id: int) -> str:
    """A seller's settled income."""
    return f"seller:{int(user_id)}"


def account_kind(code: str) -> tuple[str, int | None]:
    """The stored kind and owning user of the account with this code.

    Raises ValueError for a code that is none of the known shapes, so that a typo cannot
    quietly open a new account.
    """
    if code == ESCROW:
        return "escrow", None
    if code == COMMISSION:
        return "revenue", None
    if code.startswith(EXTERNAL_PREFIX) and len(code) > len(EXTERNAL_PREFIX):
        return "channel", None
    prefix, _, rest = code.partition(":")
    if prefix in ("wallet", "seller") and rest.isdigit() and str(int(rest)) == rest:
        return prefix, int(rest)
    raise ValueError(f"unknown ledger account code {code!r}")
