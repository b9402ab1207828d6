"""Developer apps for OAuth tests, made directly with the models."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import App, User
from tests.factories.gateway import SERVER_SECRET, make_app

APP_SECRET = "s3cret"
CALLBACK = "https://isv.example/cb"


async def make_oauth_app(
    session: AsyncSession,
    owner: User,
    *,
    name: str = "ISV 助手",
    app_type: str = "seller_tool",
    status: str = "development",
    callback_url: str = CALLBACK,
    packages: Iterable[str] = ("items-read", "trades-read"),
    secret: str = APP_SECRET,
    server_secret: str = SERVER_SECRET,
) -> App:
    """An app whose plaintext secret is ``secret`` and callback ``callback_url``."""
    app, _secret = await make_app(
        session,
        owner,
        packages=packages,
        status=status,
        server_secret=server_secret,
        secret=secret,
        name=name,
        app_type=app_type,
        callback_url=callback_url,
    )
    return app
