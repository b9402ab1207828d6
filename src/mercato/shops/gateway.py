"""TOP methods of the shops domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
