"""TOP methods that change items, SKUs, stock and images."""

from __future__ import annotations
