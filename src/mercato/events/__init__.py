"""Events and jobs: the outbox (side effects leave after the commit) and durable timers.

See docs/jobs.md.
"""

from mercato.events.jobs import (
    JobRunner,
    backoff,
    cancel,
    handler,
    run_due,
    run_until_idle,
    schedule,
)
from mercato.events.outbox import events_of, mark_dispatched, pending_events, record_event

__all__ = [
    "JobRunner",
    "backoff",
    "cancel",
    "events_of",
    "handler",
    "mark_dispatched",
    "pending_events",
    "record_event",
    "run_due",
    "run_until_idle",
    "schedule",
]
