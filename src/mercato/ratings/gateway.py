"""TOP methods of the ratings domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
