"""Settings, read from the environment with the prefix ``MERCATO_``."""

from __future__ import annotations

import os
import secrets
import time
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# The limits of a flow-control tier (mercato.gateway.flowcontrol.Tier).
FLOW_TIER_FIELDS = ("daily", "per_method_per_second", "per_user_per_second")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MERCATO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path("var"), description="Where the SQLite file and media live")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default is a SQLite file in the data dir",
    )
    redis_url: str | None = None
    timezone: str = "Asia/Shanghai"
    currency: str = "CNY"
    secret_key: str | None = Field(
        default=None, description="Signs cookies; generated into the data dir when unset"
    )
    cookie_secure: bool = Field(default=False, description="Send cookies over HTTPS only")
    session_days: int = Field(default=14, ge=1, le=365)
    max_upload_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    max_image_pixels: int = Field(default=4096 * 4096, ge=1)
    close_unpaid_minutes: int = Field(
        default=30,
        ge=1,
        le=43200,
        description="An unpaid trade closes this many minutes after checkout",
    )
    auto_confirm_days: int = Field(
        default=10,
        ge=1,
        le=365,
        description="A shipped trade confirms receipt itself after these days",
    )
    auto_confirm_resume_min_days: int = Field(
        default=3,
        ge=0,
        le=365,
        description="Least time the paused auto-confirm timer gets back when a refund ends",
    )
    refund_agree_days: int = Field(
        default=5,
        ge=1,
        le=365,
        description="A refund request the seller leaves unanswered is agreed",
    )
    refund_return_days: int = Field(
        default=7, ge=1, le=365, description="A return the buyer never sends back closes the refund"
    )
    refund_confirm_days: int = Field(
        default=10,
        ge=1,
        le=365,
        description="Returned goods the seller never confirms are refunded",
    )
    commission_rate: Decimal = Field(
        default=Decimal("0.05"),
        ge=0,
        le=1,
        description="Platform commission (a fraction) for categories without their own rate",
    )
    gateway_timestamp_skew_s: int = Field(
        default=600,
        ge=0,
        le=7 * 86400,
        description="/router/rest accepts a timestamp this many seconds from server time",
    )
    gateway_auth_cache_s: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="How long a server keeps an app or session it looked up for the gateway; "
        "the most another process may lag a revocation or rotation (0: no cache)",
    )
    flow_control: bool = Field(
        default=True, description="Enforce the gateway's flow control (code 7); see docs/gateway.md"
    )
    flow_tiers: dict[str, dict[str, int | None]] = Field(
        default_factory=dict,
        description="JSON overriding the built-in flow-control tiers, e.g. "
        '{"default": {"daily": 200000, "per_method_per_second": 50}}; null means unlimited',
    )
    flow_redis_prefix: str = Field(
        default="mercato:flow", description="Key prefix of the flow-control counters in Redis"
    )
    call_log_retention_days: int = Field(
        default=30, ge=1, le=3650, description="The call log keeps this many days of calls"
    )
    call_log_queue_size: int = Field(
        default=10_000,
        ge=1,
        le=1_000_000,
        description="Calls waiting to be written; beyond this they are dropped and counted",
    )
    run_jobs: bool = Field(
        default=True,
        description="Run timers in this process; set false when a separate `mercato worker` "
        "runs them",
    )
    sandbox_tools: bool = Field(
        default=True,
        description="The sandbox tools (mercato sandbox …, the console's sandbox page, the "
        "shared sandbox clock); turn off in production",
    )

    @field_validator("flow_tiers")
    @classmethod
    def _check_flow_tiers(
        cls, tiers: dict[str, dict[str, int | None]]
    ) -> dict[str, dict[str, int | None]]:
        for name, limits in tiers.items():
            if not name or len(name) > 32:
                raise ValueError(f"flow tier name {name!r} must be 1-32 characters")
            for key, value in limits.items():
                if key not in FLOW_TIER_FIELDS:
                    raise ValueError(f"flow tier {name!r}: unknown limit {key!r}")
                if value is not None and value < 1:
                    raise ValueError(f"flow tier {name!r}: {key} must be >= 1 or null")
        return tiers

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{self.data_dir.resolve() / 'mercato.db'}"

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"

    @cached_property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def resolved_secret_key(self) -> str:
        """The configured secret, or one generated once and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: when several server processes start at once, the first one's key wins
            # and the others read it, so all of them sign with the same key.
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(48))
        for _ in range(50):  # another process may have created it and not written it yet
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.01)
        raise RuntimeError(f"{path} is empty; delete it to have a new key generated")
