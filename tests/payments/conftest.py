from __future__ import annotations

from tests.trade.conftest import Shop2, w  # noqa: F401  (the trade world, reused)

__all__ = ["Shop2"]
