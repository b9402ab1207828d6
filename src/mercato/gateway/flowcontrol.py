"""Flow control (TOP-PROTOCOL.md §6.3): code 7 with an ``accesscontrol.*`` sub-code and
"This ban will last for N more seconds".

Three limits per call, all counted with the ``limits`` library (fixed windows):

- the app's **daily quota**, which resets at 00:00 GMT+8 as TOP's does. ``limits`` starts a
  window at its first hit and cannot align one to a zone, so the counter's key carries the
  GMT+8 date (read from ``kit.clock``: tests and the sandbox clock move it) and a new day is a
  new counter; the ban lasts until the next GMT+8 midnight. Sub-code
  ``accesscontrol.limited-by-app-access-count``.
- **app × method** calls per second: ``accesscontrol.limited-by-app-api-access-count``.
- **app × user** (the session's user) calls per second:
  ``accesscontrol.limited-by-api-access-count`` — TOP's API-level QPS code, the one §14.2
  tells us to use for rate limiting: all-in-body clients sleep 1 s and retry on it, which is
  the right reaction to a per-second limit.

The frequency limits are checked before the quota, so a call refused for its frequency does
not spend the day's quota.

Limits come from the app's tier (``app.tier``); an app that is not online is always on the
``development`` tier (TOP's test environment: 5,000 calls a day). ``MERCATO_FLOW_TIERS``
overrides the built-in table.

Storage: in-process memory by default; Redis when ``MERCATO_REDIS_URL`` is set, so that every
``mercato serve`` worker shares the counters. When Redis fails the limiter **fails open to
its in-process counters** (each process then enforces the limits alone) and logs once a
minute; it retries Redis after a short pause. See docs/gateway.md for why.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from functools import lru_cache
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

from limits import RateLimitItem, RateLimitItemPerDay, RateLimitItemPerSecond
from limits.aio.storage import MemoryStorage, RedisStorage
from limits.aio.strategies import FixedWindowRateLimiter
from limits.errors import StorageError

from mercato.config import Settings
from mercato.developer.service import development_limits, limits_for
from mercato.gateway.errors import GatewayError
from mercato.kit.clock import utcnow
from mercato.models import App

log = logging.getLogger("mercato.gateway.flow")

SUB_DAILY = "accesscontrol.limited-by-app-access-count"
SUB_APP_METHOD = "accesscontrol.limited-by-app-api-access-count"
SUB_APP_USER = "accesscontrol.limited-by-api-access-count"

DEVELOPMENT = "development"
DEFAULT = "default"

REDIS_TIMEOUT_S = 0.25  # a Redis that does not answer must not hold calls up
REDIS_RETRY_S = 5.0  # after a failure, use the local counters this long before retrying
OUTAGE_LOG_INTERVAL_S = 60.0


@dataclass(frozen=True)
class Tier:
    """A tier's limits; None is unlimited."""

    daily: int | None
    per_method_per_second: int | None
    per_user_per_second: int | None


# The development per-second limits are small next to the online tiers but leave room for a
# test suite's bursts; the 5,000-a-day quota is what binds a development app.
BUILTIN_TIERS: Mapping[str, Tier] = MappingProxyType(
    {
        DEVELOPMENT: Tier(development_limits().daily_calls, 100, 100),
        DEFAULT: Tier(1_000_000, 500, 200),
        "large": Tier(10_000_000, 5_000, 2_000),
        "unlimited": Tier(None, None, None),
    }
)


def tier_table(overrides: Mapping[str, Mapping[str, int | None]]) -> Mapping[str, Tier]:
    """The built-in tiers with ``overrides`` (``Settings.flow_tiers``, already validated)
    applied; a new tier name starts from ``default``."""
    names = {f.name for f in fields(Tier)}
    table = dict(BUILTIN_TIERS)
    for name, limits in overrides.items():
        unknown = set(limits) - names
        if unknown:
            raise ValueError(f"flow tier {name!r}: unknown limits {sorted(unknown)}")
        table[name] = replace(table.get(name, table[DEFAULT]), **dict(limits))
    return MappingProxyType(table)


def ban_message(seconds: int) -> str:
    return f"This ban will last for {seconds} more seconds"


class FlowLimited(GatewayError):
    """Code 7; ``retry_after`` (whole seconds, at least 1) also goes out as ``Retry-After``."""

    def __init__(self, sub_code: str, retry_after: int) -> None:
        self.retry_after = max(1, retry_after)
        super().__init__(7, sub_code, ban_message(self.retry_after), slug="app_call_limited")


@lru_cache(maxsize=256)
def _per_second(amount: int) -> RateLimitItem:
    return RateLimitItemPerSecond(amount)


@lru_cache(maxsize=64)
def _per_day(amount: int) -> RateLimitItem:
    return RateLimitItemPerDay(amount)


def seconds_to_midnight(now: datetime, zone: ZoneInfo) -> int:
    """Whole seconds (rounded up, at least 1) from ``now`` to the next midnight in ``zone``."""
    local = now.astimezone(zone)
    midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), zone)
    return max(1, math.ceil((midnight - local).total_seconds()))


class FlowControl:
    """The three limits of every authorized call (``check``)."""

    def __init__(
        self,
        tiers: Mapping[str, Tier] = BUILTIN_TIERS,
        *,
        zone: ZoneInfo,
        redis_url: str | None = None,
        key_prefix: str = "mercato:flow",
        redis_retry_s: float = REDIS_RETRY_S,
    ) -> None:
        self.tiers = tiers
        self.zone = zone
        self._local = FixedWindowRateLimiter(MemoryStorage())
        self._redis: RedisStorage | None = None
        self._shared: FixedWindowRateLimiter | None = None
        if redis_url:
            self._redis = RedisStorage(
                redis_url,
                implementation="redispy",
                key_prefix=key_prefix,
                wrap_exceptions=True,
                socket_timeout=REDIS_TIMEOUT_S,
                socket_connect_timeout=REDIS_TIMEOUT_S,
            )
            self._shared = FixedWindowRateLimiter(self._redis)
        self.redis_retry_s = redis_retry_s
        self.redis_failures = 0  # storage errors seen (for metrics)
        self._redis_paused_until = 0.0
        self._outage_logged_at = -math.inf
        self._unknown_tiers: set[str] = set()

    @classmethod
    def from_settings(cls, settings: Settings) -> FlowControl:
        return cls(
            tier_table(settings.flow_tiers),
            zone=settings.zone,
            redis_url=settings.redis_url,
            key_prefix=settings.flow_redis_prefix,
        )

    @property
    def shared(self) -> bool:
        """Whether the counters live in Redis."""
        return self._shared is not None

    def tier_of(self, app: App) -> Tier:
        if limits_for(app) is not None:  # not online: TOP's test environment
            return self.tiers[DEVELOPMENT]
        tier = self.tiers.get(app.tier)
        if tier is None:
            if app.tier not in self._unknown_tiers:
                self._unknown_tiers.add(app.tier)
                log.warning("app %s: unknown flow tier %r, using default", app.app_key, app.tier)
            tier = self.tiers[DEFAULT]
        return tier

    async def check(self, app: App, method: str, user_id: int | None) -> None:
        """Count the call; raise ``FlowLimited`` when a limit is exceeded."""
        tier = self.tier_of(app)
        if tier.per_method_per_second is not None:
            item = _per_second(tier.per_method_per_second)
            ids = ("m", str(app.id), method)
            if not await self._hit(item, ids):
                raise FlowLimited(SUB_APP_METHOD, await self._window_left(item, ids))
        if tier.per_user_per_second is not None and user_id is not None:
            item = _per_second(tier.per_user_per_second)
            ids = ("u", str(app.id), str(user_id))
            if not await self._hit(item, ids):
                raise FlowLimited(SUB_APP_USER, await self._window_left(item, ids))
        if tier.daily is not None:
            now = utcnow()
            day = now.astimezone(self.zone).date().isoformat()
            if not await self._hit(_per_day(tier.daily), ("d", str(app.id), day)):
                raise FlowLimited(SUB_DAILY, seconds_to_midnight(now, self.zone))

    # ---------------------------------------------------------------- storage

    def _limiter(self) -> FixedWindowRateLimiter:
        if self._shared is not None and time.monotonic() >= self._redis_paused_until:
            return self._shared
        return self._local

    async def _hit(self, item: RateLimitItem, ids: tuple[str, ...]) -> bool:
        limiter = self._limiter()
        if limiter is self._local:
            return await limiter.hit(item, *ids)
        try:
            return await limiter.hit(item, *ids)
        except (StorageError, OSError) as exc:
            self._redis_failed(exc)
            return await self._local.hit(item, *ids)

    async def _window_left(self, item: RateLimitItem, ids: tuple[str, ...]) -> int:
        """Whole seconds until the refused window frees a call."""
        limiter = self._limiter()
        try:
            stats = await limiter.get_window_stats(item, *ids)
        except (StorageError, OSError) as exc:
            self._redis_failed(exc)
            stats = await self._local.get_window_stats(item, *ids)
        return max(1, math.ceil(stats.reset_time - time.time()))

    def _redis_failed(self, exc: BaseException) -> None:
        """Fail open to the in-process counters for a while; log at most once a minute."""
        self.redis_failures += 1
        now = time.monotonic()
        self._redis_paused_until = now + self.redis_retry_s
        if now - self._outage_logged_at >= OUTAGE_LOG_INTERVAL_S:
            self._outage_logged_at = now
            log.warning(
                "flow control: Redis unavailable (%s); enforcing limits per process "
                "(%d failures so far)",
                getattr(exc, "storage_error", exc),
                self.redis_failures,
            )

    async def reset(self) -> None:
        """Forget every counter (tests; the Redis keys under this prefix)."""
        await self._local.storage.reset()
        if self._redis is not None:
            await self._redis.reset()

    async def close(self) -> None:
        """Nothing to close for memory; redis-py's pool is released with the process."""
        return None


def describe(tier: Tier) -> dict[str, Any]:
    """A tier as the console shows it."""
    return {f.name: getattr(tier, f.name) for f in fields(Tier)}
