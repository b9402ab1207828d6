from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from mercato.config import Settings
from mercato.trade import policy
from mercato.trade.policy import Timeouts


def test_generated_secret_is_kept_private_and_shared(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: settings.resolved_secret_key(), range(16)))
    assert len(keys) == 1 and len(keys.pop()) >= 40
    assert (tmp_path / "data" / "secret_key").stat().st_mode & 0o777 == 0o600


def test_configured_secret_wins(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, secret_key="given").resolved_secret_key() == "given"


def test_default_database_is_a_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    url = Settings(data_dir=tmp_path).resolved_database_url
    assert url == f"sqlite+aiosqlite:///{tmp_path.resolve() / 'mercato.db'}"


def test_timer_settings_default_to_the_platform_rules(tmp_path: Path) -> None:
    timeouts = Timeouts.from_settings(Settings(data_dir=tmp_path))
    assert timeouts == Timeouts()
    assert (timeouts.close_unpaid, timeouts.auto_confirm) == (
        timedelta(minutes=30),
        timedelta(days=10),
    )
    assert (timeouts.refund_agree, timeouts.refund_return, timeouts.refund_confirm) == (
        timedelta(days=5),
        timedelta(days=7),
        timedelta(days=10),
    )
    assert timeouts.confirm_resume_min == timedelta(days=3)


def test_timer_settings_come_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in {
        "CLOSE_UNPAID_MINUTES": "15",
        "AUTO_CONFIRM_DAYS": "7",
        "AUTO_CONFIRM_RESUME_MIN_DAYS": "0",
        "REFUND_AGREE_DAYS": "2",
        "REFUND_RETURN_DAYS": "4",
        "REFUND_CONFIRM_DAYS": "6",
    }.items():
        monkeypatch.setenv(f"MERCATO_{name}", value)
    assert Timeouts.from_settings(Settings(data_dir=tmp_path)) == Timeouts(
        close_unpaid=timedelta(minutes=15),
        auto_confirm=timedelta(days=7),
        confirm_resume_min=timedelta(),
        refund_agree=timedelta(days=2),
        refund_return=timedelta(days=4),
        refund_confirm=timedelta(days=6),
    )
    policy.current.cache_clear()
    try:
        assert policy.current().refund_return == timedelta(days=4)
        assert policy.resolve(None).close_unpaid == timedelta(minutes=15)
        assert policy.resolve(Timeouts()).close_unpaid == timedelta(minutes=30)
    finally:
        policy.current.cache_clear()


@pytest.mark.parametrize(
    "name",
    [
        "close_unpaid_minutes",
        "auto_confirm_days",
        "refund_agree_days",
        "refund_return_days",
        "refund_confirm_days",
    ],
)
def test_timer_settings_must_be_positive(tmp_path: Path, name: str) -> None:
    for bad in (0, -1):
        with pytest.raises(ValidationError):
            Settings(data_dir=tmp_path, **{name: bad})
    with pytest.raises(ValidationError):
        Settings(data_dir=tmp_path, auto_confirm_resume_min_days=-1)
    assert Settings(data_dir=tmp_path, auto_confirm_resume_min_days=0)
