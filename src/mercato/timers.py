"""Every module that registers job handlers. A handler exists only once its module is
imported, so each process that runs jobs (the server's runner, `mercato worker`) imports
this one module rather than remembering the list."""

from mercato.logistics import tracking as logistics_tracking
from mercato.refunds import timers as refund_timers
from mercato.trade import timers as trade_timers

__all__ = ["logistics_tracking", "refund_timers", "trade_timers"]
