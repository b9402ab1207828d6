"""TOP methods of the catalog domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
