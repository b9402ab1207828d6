from __future__ import annotations

from mercato import timers
from mercato.events.jobs import registered_kinds


def test_the_trade_timers_are_registered_wherever_jobs_run() -> None:
    assert timers.trade_timers is not None
    assert {"trade.close_unpaid", "trade.auto_confirm"} <= set(registered_kinds())


def test_the_refund_timers_are_registered_wherever_jobs_run() -> None:
    assert timers.refund_timers is not None
    assert {
        "refund.auto_agree",
        "refund.return_timeout",
        "refund.confirm_goods_timeout",
    } <= set(registered_kinds())
