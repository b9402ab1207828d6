from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select

from mercato.catalog import service as catalog
from mercato.kit.db import Database
from mercato.models import Address, CartLine, Item, Job, Order, OutboxEvent, Sku, Trade, User
from mercato.trade import service as trade
from mercato.trade.schemas import AddressInput
from tests.factories.catalog import CatalogTree, make_catalog, make_seller


def make_buyer(nick: str) -> User:
    return User(nick=nick, nick_key=nick.lower(), password_hash="not-a-real-hash", roles=[])


def address_input(**overrides: object) -> AddressInput:
    fields: dict[str, object] = {
        "name": "张三",
        "mobile": "13800138000",
        "state": "浙江省",
        "city": "杭州市",
        "district": "西湖区",
        "address": "文三路 100 号",
        "zip": "310000",
    }
    fields.update(overrides)
    return AddressInput.model_validate(fields)


@dataclass
class Shop2:
    db: Database
    tree: CatalogTree
    alice: User
    bob: User
    dress: Item  # alice, SKUs red/M (5) and blue/L (3)
    red_m: Sku
    blue_l: Sku
    phone: Item  # bob, no SKUs, 10 in stock
    buyer: User
    address: Address
    other: User
    other_address: Address


@pytest.fixture
async def w(db: Database) -> Shop2:
    async with db.write() as session:
        tree = await make_catalog(session)
        alice, _ = await make_seller(session, "alice")
        bob, _ = await make_seller(session, "bob")
        dress = await catalog.create_item(
            session,
            alice,
            tree.item(
                approve_status="onsale",
                outer_id="D-1",
                skus=[tree.sku("红色", "M", "10.00", 5), tree.sku("蓝色", "L", "12.50", 3)],
            ),
        )
        phone = await catalog.create_item(
            session,
            bob,
            tree.item(
                title="手机",
                category_id=tree.phones.id,
                props={},
                price="999.00",
                quantity=10,
                approve_status="onsale",
            ),
        )
        buyer, other = make_buyer("carol"), make_buyer("dave")
        session.add_all([buyer, other])
        await session.flush()
        address = await trade.add_address(session, buyer, address_input())
        other_address = await trade.add_address(session, other, address_input(name="李四"))
        skus = list(await session.scalars(select(Sku).where(Sku.item_id == dress.id)))
        red_m = next(s for s in skus if s.price == 1000)
        blue_l = next(s for s in skus if s.price == 1250)
    return Shop2(db, tree, alice, bob, dress, red_m, blue_l, phone, buyer, address, other,
                 other_address)  # fmt: skip


async def counts(db: Database) -> dict[str, int]:
    """Row counts and stock: what must not move when an operation is refused."""
    async with db.read() as session:
        out: dict[str, int] = {}
        for model in (Trade, Order, OutboxEvent, Job, CartLine):
            out[model.__tablename__] = int(
                await session.scalar(select(func.count()).select_from(model)) or 0
            )
        for sku in await session.scalars(select(Sku).order_by(Sku.id)):
            out[f"sku:{sku.id}"] = sku.quantity
        for item in await session.scalars(select(Item).order_by(Item.id)):
            out[f"item:{item.id}"] = item.quantity
            out[f"sold:{item.id}"] = item.sold_quantity
        for t in await session.scalars(select(Trade).order_by(Trade.id)):
            out[f"trade:{t.id}:{t.status}:{t.payment}:{t.event_seq}"] = 1
    return out
