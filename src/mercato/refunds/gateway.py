"""TOP methods of the refunds domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
