"""TOP methods of the accounts domain (registered with mercato.gateway.registry):
``taobao.user.seller.get`` and ``taobao.user.buyer.get`` (TOP-PROTOCOL.md §9.4)."""

from __future__ import annotations

from typing import Any

from mercato.gateway import envelope, registry
from mercato.gateway.context import CallContext
from mercato.gateway.registry import TopParams
from mercato.models import User
from mercato.shops import service as shops

# User.status -> TOP's user status (normal/inactive/delete/reeze/supervise).
TOP_USER_STATUS = {"normal": "normal", "deleted": "delete"}


class UserFieldsParams(TopParams):
    fields: str | None = None


def user_shape(user: User) -> dict[str, Any]:
    """A User (§9.4) without the parts that need other queries (``has_shop``,
    ``seller_credit``)."""
    return envelope.with_str_twins(
        {
            "user_id": user.id,
            "nick": user.nick,
            "type": "C",  # every Mercato seller is an individual shop (TOP's C seller)
            "avatar": user.avatar_url,
            "status": TOP_USER_STATUS.get(user.status, "inactive"),
            "created": user.created_at,
        },
        "user_id",
    )


def _session_user(ctx: CallContext) -> User:
    if ctx.user is None:  # the registry guarantees a session; this keeps mypy honest
        raise RuntimeError("a session method ran without a user")
    return ctx.user


@registry.method(
    "taobao.user.seller.get",
    params=UserFieldsParams,
    package="users",
    session=True,
    role="seller",
    fields=("user",),
    description="The authorizing seller: user_id, nick, seller_credit{level,score,total_num,"
    "good_num}, type, avatar, has_shop, status, created. fields is required.",
    example={"user": {"user_id": 7, "nick": "alice", "has_shop": True}},
)
async def user_seller_get(ctx: CallContext, params: UserFieldsParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields)
    user = _session_user(ctx)
    shape = user_shape(user)
    shop = await shops.seller_shop(ctx.db_session, user)
    shape["has_shop"] = shop is not None
    if shop is not None and selection.wants("seller_credit"):
        credit = await shops.seller_credit(ctx.db_session, shop.id)
        shape["seller_credit"] = {
            "level": credit.level,
            "score": credit.score,
            "total_num": credit.total_num,
            "good_num": credit.good_num,
        }
    return {"user": selection.apply(shape)}


@registry.method(
    "taobao.user.buyer.get",
    params=UserFieldsParams,
    package="users",
    session=True,
    role="any",
    fields=("user",),
    description="The authorizing user as a buyer sees themself: nick and avatar only. "
    "fields is required.",
    example={"user": {"nick": "bob"}},
)
async def user_buyer_get(ctx: CallContext, params: UserFieldsParams) -> dict[str, Any]:
    selection = envelope.require_fields(params.fields)
    user = _session_user(ctx)
    return {"user": selection.apply({"nick": user.nick, "avatar": user.avatar_url})}
