"""``mercato token issue`` against a temporary data directory."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from urllib.parse import quote

import pytest
from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.kit.db import Database
from mercato.oauth import service as oauth
from tests.factories.accounts import make_user
from tests.factories.platform import make_oauth_app

SECRET = "cli-test-secret"


def _database(data_dir: Path) -> Database:
    return Database(f"sqlite+aiosqlite:///{data_dir / 'mercato.db'}")


@pytest.fixture
def setup(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, str]:
    """A migrated data dir with a developer's app and a seller, "卖家一号"."""
    path = tmp_path / "data"
    path.mkdir()
    shutil.copyfile(sqlite_template, path / "mercato.db")
    monkeypatch.setenv("MERCATO_DATA_DIR", str(path))
    monkeypatch.setenv("MERCATO_SECRET_KEY", SECRET)
    database = _database(path)

    async def make() -> str:
        try:
            async with database.write() as session:
                dev = await make_user(session, "devnick")
                await make_user(session, "卖家一号")
                app = await make_oauth_app(session, dev, server_secret=SECRET)
                return app.app_key
        finally:
            await database.dispose()

    return path, asyncio.run(make())


def _run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["token", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def _resolve(data_dir: Path, token: str) -> tuple[str, str] | None:
    database = _database(data_dir)

    async def read() -> tuple[str, str] | None:
        try:
            async with database.read() as session:
                found = await oauth.resolve_session(session, token)
        finally:
            await database.dispose()
        return None if found is None else (found[0].nick, found[1].app_key)

    return asyncio.run(read())


def test_issue_prints_tops_token_fields_that_work(setup: tuple[Path, str]) -> None:
    data_dir, app_key = setup
    code, out = _run(data_dir, "issue", "--app-key", app_key, "--nick", "卖家一号", "--json")
    assert code == 0, out
    token = json.loads(out)
    assert token["token_type"] == "Bearer" and isinstance(token["taobao_user_id"], str)
    assert token["taobao_user_nick"] == quote("卖家一号", safe="")
    assert _resolve(data_dir, token["access_token"]) == ("卖家一号", app_key)
    # a second issue reuses the authorization and adds a token; both work
    code, out = _run(data_dir, "issue", "--app-key", app_key, "--nick", "卖家一号", "--json")
    assert code == 0 and _resolve(data_dir, json.loads(out)["access_token"]) is not None
    assert _resolve(data_dir, token["access_token"]) is not None


def test_issue_without_json_lists_the_fields(setup: tuple[Path, str]) -> None:
    data_dir, app_key = setup
    code, out = _run(data_dir, "issue", "--app-key", app_key, "--nick", "卖家一号")
    assert code == 0, out
    assert "access_token" in out and "taobao_open_uid" in out


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (["--app-key", "{key}", "--nick", "nobody"], "not_found"),
        (["--app-key", "12345", "--nick", "卖家一号"], "not_found"),
    ],
)
def test_unknown_user_or_app_fails_cleanly(
    setup: tuple[Path, str], args: list[str], error: str
) -> None:
    data_dir, app_key = setup
    code, out = _run(data_dir, "issue", *[a.format(key=app_key) for a in args], "--json")
    assert code == 1
    assert json.loads(out)["error"] == error
