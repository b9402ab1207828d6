from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mercato.config import Settings


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
