"""TOP methods of the trade domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
