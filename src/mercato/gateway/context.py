"""What a method handler gets besides its params: who calls, for whom, and the unit of work."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncSession

from mercato.config import Settings
from mercato.kit.db import Database
from mercato.models import App, User

if TYPE_CHECKING:
    from mercato.gateway.registry import Method


@dataclass(frozen=True)
class UploadedFile:
    """A file part of a multipart request (never signed)."""

    filename: str
    content_type: str
    data: bytes


@dataclass
class CallContext:
    request_id: str
    received_at: datetime
    settings: Settings
    db: Database
    server_secret: str
    client_ip: str = ""
    face: str = "top"  # "top" (/router/rest) or "json" (/api/v1)
    method_name: str = ""
    method: Method | None = None
    app: App | None = None
    user: User | None = None
    raw: dict[str, str] = field(default_factory=dict)  # every received text parameter
    files: dict[str, UploadedFile] = field(default_factory=dict)
    _db_session: AsyncSession | None = None

    @property
    def db_session(self) -> AsyncSession:
        """The handler's unit of work (a write unit for ``write`` methods)."""
        if self._db_session is None:
            raise RuntimeError("no unit of work outside a handler")
        return self._db_session

    @property
    def session_user(self) -> User:
        """The session's user, in a method declared with ``session=True`` (the router has
        resolved it before the handler runs)."""
        if self.user is None:
            raise RuntimeError("a session method ran without a user")
        return self.user

    @property
    def user_id(self) -> int | None:
        return self.user.id if self.user else None

    @property
    def app_id(self) -> int | None:
        return self.app.id if self.app else None
