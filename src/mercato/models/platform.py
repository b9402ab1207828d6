"""The open platform: developer apps, the permission packages they hold, the users who
authorized them, OAuth codes and access tokens, and the gateway's call log.

Secrets and tokens: an app secret must be usable as an HMAC key, so it is stored encrypted
under the server secret (never in plain text, never logged); authorization codes, access
tokens and refresh tokens are only ever compared, so only their SHA-256 is stored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mercato.models.base import Base, BigId, Timestamps, UTCDateTime


class App(Timestamps, Base):
    """A developer's application (TOP "AppKey")."""

    __tablename__ = "apps"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_key: Mapped[str] = mapped_column(String(16), unique=True)  # numeric string
    secret_encrypted: Mapped[str] = mapped_column(String(300))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(60))
    app_type: Mapped[str] = mapped_column(String(20))  # seller_tool, buyer_tool, service_market
    callback_url: Mapped[str] = mapped_column(String(500), default="")
    ip_whitelist: Mapped[str] = mapped_column(String(1000), default="")  # comma list
    status: Mapped[str] = mapped_column(String(16), default="development")
    tier: Mapped[str] = mapped_column(String(32), default="default")  # flow-control tier
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    packages: Mapped[list[AppPackage]] = relationship(
        lazy="selectin", cascade="all, delete-orphan", back_populates="app"
    )


class AppPackage(Base):
    """A permission package (a group of methods) an app holds."""

    __tablename__ = "app_packages"

    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True)
    package: Mapped[str] = mapped_column(String(32), primary_key=True)

    app: Mapped[App] = relationship(back_populates="packages")


class Authorization(Base):
    """A user's consent to an app acting for them; revoking it kills its tokens at once."""

    __tablename__ = "authorizations"
    __table_args__ = (UniqueConstraint("app_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OAuthCode(Base):
    """A single-use, short-lived authorization code."""

    __tablename__ = "oauth_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(500))
    view: Mapped[str] = mapped_column(String(8), default="web")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AccessToken(Base):
    """An access token (the TOP ``session``) and its refresh token."""

    __tablename__ = "access_tokens"
    __table_args__ = (Index("ix_access_tokens_app_user", "app_id", "user_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    authorization_id: Mapped[int] = mapped_column(
        ForeignKey("authorizations.id", ondelete="CASCADE"), index=True
    )
    app_id: Mapped[int] = mapped_column(ForeignKey("apps.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    refresh_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ApiCall(Base):
    """One gateway call, written in batches after the response (the call log)."""

    __tablename__ = "api_calls"
    __table_args__ = (
        Index("ix_api_calls_app_called", "app_id", "called_at"),
        Index("ix_api_calls_app_method_called", "app_id", "method", "called_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(32), index=True)
    app_id: Mapped[int | None] = mapped_column(BigId)  # None: the app key was unknown
    method: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int | None] = mapped_column(BigId)
    code: Mapped[int] = mapped_column(Integer, default=0)  # 0 = success
    sub_code: Mapped[str] = mapped_column(String(100), default="")
    latency_us: Mapped[int] = mapped_column(Integer)
    called_at: Mapped[datetime] = mapped_column(UTCDateTime)
