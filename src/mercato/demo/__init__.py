"""The demo marketplace and bulk data for benchmarks."""

from mercato.demo.seed import (
    BULK_PASSWORD,
    BulkSummary,
    DemoSummary,
    Progress,
    seed_bulk,
    seed_demo,
)

__all__ = [
    "BULK_PASSWORD",
    "BulkSummary",
    "DemoSummary",
    "Progress",
    "seed_bulk",
    "seed_demo",
]
