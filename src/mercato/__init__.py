"""Mercato: an open multi-vendor marketplace with a TOP-compatible open platform."""

__version__ = "0.1.0"
