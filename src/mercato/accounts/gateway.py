"""TOP methods of the accounts domain (registered with mercato.gateway.registry)."""

from __future__ import annotations
