"""Developer apps for OAuth tests, made directly with the models."""

from __future__ import annotations

import itertools
from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.kit import crypto
from mercato.models import App, AppPackage, User

SERVER_SECRET = "test-secret-key"  # the tests' Settings(secret_key=...)
APP_SECRET = "s3cret"
CALLBACK = "https://isv.example/cb"
_keys = itertools.count(31000000)


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
    app = App(
        app_key=str(next(_keys)),
        secret_encrypted=crypto.encrypt(server_secret, secret),
        owner_id=owner.id,
        name=name,
        app_type=app_type,
        callback_url=callback_url,
        status=status,
    )
    app.packages = [AppPackage(package=p) for p in packages]
    session.add(app)
    await session.flush()
    return app
