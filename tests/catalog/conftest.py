from __future__ import annotations

from dataclasses import dataclass

import pytest

from mercato.kit.db import Database
from mercato.models import Shop, User
from tests.factories.catalog import CatalogTree, make_catalog, make_seller


@dataclass
class World:
    db: Database
    tree: CatalogTree
    alice: User
    alice_shop: Shop
    bob: User
    bob_shop: Shop


@pytest.fixture
async def world(db: Database) -> World:
    """The category tree and two sellers with shops, committed."""
    async with db.write() as session:
        tree = await make_catalog(session)
        alice, alice_shop = await make_seller(session, "alice")
        bob, bob_shop = await make_seller(session, "bob")
    return World(db, tree, alice, alice_shop, bob, bob_shop)
