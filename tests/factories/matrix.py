"""The authorization matrix's world (tests/gateway/test_matrix.py).

Seller A (``matrix_alice``) has a shop, a dress with two SKUs and four trades of buyer C
(``matrix_carol``): unpaid; paid with a refund asked on it; shipped; finished. Seller B has their
own shop and a phone; buyer D has bought nothing. One app holds every package; for each
package, another app holds every package but that one. A and C have tokens on every app.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from mercato.accounts import service as accounts
from mercato.catalog import service as catalog
from mercato.developer.packages import ALL_PACKAGES
from mercato.gateway.registry import Method
from mercato.kit.db import Database
from mercato.ledger.service import deposit
from mercato.logistics.carriers import ensure_carriers
from mercato.models import Role, Sku, Trade, User
from mercato.refunds import service as refunds
from mercato.trade import service as trade
from tests.factories.catalog import make_catalog, make_seller
from tests.factories.gateway import make_app, make_token
from tests.trade.conftest import address_input, make_buyer

ITEM_TITLE = "MATRIX-A-连衣裙"

_FIELDS = {
    "taobao.trade": "tid,status,seller_nick,buyer_nick,payment,orders",
    "taobao.refund": "refund_id,tid,oid,status,seller_nick,buyer_nick,refund_fee,title",
    "taobao.traderate": "tid,oid,role,nick,result,rated_nick,content,item_title",
    "taobao.logistics": "tid,out_sid,company_name,status",
    "taobao.item.sku": "sku_id,num_iid,properties,quantity,price",
    "taobao.item": "num_iid,title,nick,num,price,approve_status",
    "taobao.user": "user_id,nick",
    "taobao.shop": "sid,cid,title,nick",
    "taobao.sellercats": "cid,name,parent_cid,type",
    "taobao.itemcats": "cid,parent_cid,name,is_parent",
    "taobao.itemprops": "pid,name,must,multi,prop_values",
}


@dataclass
class AppAndSecret:
    """What ``tests.gateway.conftest.system``/``style_a`` read: ``key`` and ``secret``."""

    key: str
    secret: str
    tokens: dict[str, str] = field(default_factory=dict)


@dataclass
class MatrixWorld:
    db: Database
    apps: dict[str, AppAndSecret]  # "full", "without:<package>"
    tokens: dict[str, str]  # on the full app: seller_a, seller_b, seller_only, buyer_c, buyer_d
    seller_a_nick: str
    item_id: int
    sku_id: int
    sku_properties: str
    free_sku_properties: str  # a color/size combination A's item has no SKU for
    leaf_cid: int
    phones_cid: int
    unpaid_tid: int
    finished_tid: int  # shipped and received: ratable
    paid_tid: int  # paid, not shipped, a refund asked on it
    shipped_tid: int
    shipped_oid: int
    refund_id: int
    markers: tuple[str, ...]  # strings only A's (or A's buyer's) data contains

    def owner(self, method: Method, *, app: str) -> str | None:
        """The rightful caller's token on ``app``: C for buyer methods, A otherwise."""
        if not method.session:
            return None
        who = "buyer_c" if method.role == "buyer" else "seller_a"
        return self.apps[app].tokens[who]

    def fields_for(self, name: str) -> str:
        bare = name.removesuffix(".get")
        for prefix in sorted(_FIELDS, key=len, reverse=True):
            if bare.startswith(prefix):
                return _FIELDS[prefix]
        return "nick"


async def make_matrix_world(db: Database) -> MatrixWorld:
    async with db.write() as session:
        await ensure_carriers(session)
        tree = await make_catalog(session)
        alice, _ = await make_seller(session, "matrix_alice")
        bob, _ = await make_seller(session, "matrix_bob")
        carol, dave = make_buyer("matrix_carol"), make_buyer("matrix_dave")
        session.add_all([carol, dave])
        await session.flush()
        for buyer in (carol, dave):
            await accounts.grant_role(session, buyer, Role.buyer)
            await deposit(session, buyer.id, 1_000_000, key=f"dep-{buyer.nick}")
        address = await trade.add_address(session, carol, address_input())
        dress = await catalog.create_item(
            session,
            alice,
            tree.item(
                title=ITEM_TITLE,
                approve_status="onsale",
                skus=[tree.sku("红色", "M", "10.00", 5), tree.sku("蓝色", "L", "12.50", 3)],
            ),
        )
        await catalog.create_item(
            session,
            bob,
            tree.item(
                title="matrix phone",
                category_id=tree.phones.id,
                props={},
                price="99.00",
                quantity=5,
                approve_status="onsale",
            ),
        )
        red_m = next(
            s
            for s in await session.scalars(select(Sku).where(Sku.item_id == dress.id))
            if s.price == 1000
        )
        apps: dict[str, AppAndSecret] = {}
        for name, packages in [("full", ALL_PACKAGES)] + [
            (f"without:{p}", tuple(q for q in ALL_PACKAGES if q != p)) for p in ALL_PACKAGES
        ]:
            app, secret = await make_app(session, alice, packages=packages)
            entry = AppAndSecret(app.app_key, secret)
            for who, user in (("seller_a", alice), ("buyer_c", carol)):
                entry.tokens[who] = await make_token(session, app, user)
            if name == "full":
                for who, user in (("seller_b", bob), ("seller_only", bob), ("buyer_d", dave)):
                    entry.tokens[who] = await make_token(session, app, user)
            apps[name] = entry

    paid = await _paid(db, carol, address.id, dress.id, red_m.id, "matrix-paid")
    shipped = await _paid(db, carol, address.id, dress.id, red_m.id, "matrix-shipped")
    finished = await _paid(db, carol, address.id, dress.id, red_m.id, "matrix-finished")
    unpaid = await _paid(db, carol, address.id, dress.id, red_m.id, "matrix-unpaid", pay=False)
    for n, t in enumerate((shipped, finished)):
        async with db.write() as session:
            seller = await session.get(User, alice.id)
            assert seller is not None
            await trade.ship(session, seller, t.id, company="SF", invoice_no=f"SF10000000000{n}")
    async with db.write() as session:
        buyer = await session.get(User, carol.id)
        assert buyer is not None
        await trade.confirm_receipt(session, buyer, finished.id)
    async with db.write() as session:
        buyer = await session.get(User, carol.id)
        assert buyer is not None
        refund = await refunds.request_refund(
            session,
            buyer,
            tid=paid.id,
            oid=paid.orders[0].id,
            dispute_type="REFUND",
            refund_fee=1000,
            reason="不想要了",
            desc="拍错了",
        )
    return MatrixWorld(
        db=db,
        apps=apps,
        tokens=apps["full"].tokens,
        seller_a_nick=alice.nick,
        item_id=dress.id,
        sku_id=red_m.id,
        sku_properties=tree.combo("红色", "M"),
        free_sku_properties=tree.combo("红色", "L"),
        leaf_cid=tree.dresses.id,
        phones_cid=tree.phones.id,
        unpaid_tid=unpaid.id,
        finished_tid=finished.id,
        paid_tid=paid.id,
        shipped_tid=shipped.id,
        shipped_oid=shipped.orders[0].id,
        refund_id=refund.id,
        markers=(alice.nick, carol.nick, ITEM_TITLE),
    )


async def _paid(
    db: Database,
    buyer: User,
    address_id: int,
    item_id: int,
    sku_id: int,
    key: str,
    *,
    pay: bool = True,
) -> Trade:
    async with db.write() as session:
        me = await session.get(User, buyer.id)
        assert me is not None
        (t,) = await trade.checkout(
            session, me, lines=[(item_id, sku_id, 1)], address_id=address_id, checkout_key=key
        )
        if pay:
            await trade.pay(session, me, [t.id], key=f"pay-{key}")
        return t
