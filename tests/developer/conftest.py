from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from mercato.kit.clock import clock
from tests.trade.conftest import Shop2, w  # noqa: F401  (the trade world, reused)

__all__ = ["Shop2"]


@pytest.fixture(autouse=True)
def wall_clock() -> Iterator[None]:
    """The sandbox tools move this process's clock; each test ends back on the wall clock."""
    try:
        yield
    finally:
        clock.follow(timedelta())
        clock.reset()
