"""TOP methods of the logistics domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
