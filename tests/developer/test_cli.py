"""``mercato app create | list | rotate-secret`` against a temporary data directory."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from mercato.cli import app as cli
from mercato.config import Settings
from mercato.developer import service as dev
from mercato.developer.packages import ALL_PACKAGES
from mercato.kit.db import Database
from tests.factories.accounts import make_user


@pytest.fixture
def data_dir(tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrated data dir with one user, "devnick", and a fixed server secret."""
    path = tmp_path / "data"
    path.mkdir()
    shutil.copyfile(sqlite_template, path / "mercato.db")
    monkeypatch.setenv("MERCATO_DATA_DIR", str(path))  # restored after the test
    monkeypatch.setenv("MERCATO_SECRET_KEY", "cli-test-secret")
    database = Database(f"sqlite+aiosqlite:///{path / 'mercato.db'}")

    async def make() -> None:
        try:
            async with database.write() as session:
                await make_user(session, "devnick")
        finally:
            await database.dispose()

    asyncio.run(make())
    return path


def _run(data_dir: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["app", *args, "--data-dir", str(data_dir)])
    return result.exit_code, result.output


def _stored(data_dir: Path, app_key: str) -> tuple[str, str]:
    """(encrypted secret column, plaintext via the service) of the stored app."""
    database = Database(f"sqlite+aiosqlite:///{data_dir / 'mercato.db'}")

    async def read() -> tuple[str, str]:
        try:
            async with database.read() as session:
                app = await dev.get_app_by_key(session, app_key)
                raw = await session.scalar(text("SELECT secret_encrypted FROM apps"))
        finally:
            await database.dispose()
        return str(raw), dev.app_secret(app, Settings().resolved_secret_key())

    return asyncio.run(read())


def test_create_prints_key_and_secret_once_and_list_never(data_dir: Path) -> None:
    code, out = _run(data_dir, "create", "--name", "Sandbox tool", "--owner", "devnick", "--json")
    assert code == 0, out
    created = json.loads(out)
    assert created["app_key"].isdigit() and len(created["app_secret"]) == 32
    assert created["status"] == "development" and created["packages"] == list(ALL_PACKAGES)
    raw, plain = _stored(data_dir, created["app_key"])
    assert plain == created["app_secret"] and created["app_secret"] not in raw

    code, out = _run(data_dir, "list", "--owner", "devnick", "--json")
    assert code == 0, out
    listed = json.loads(out)
    assert [a["app_key"] for a in listed] == [created["app_key"]]
    assert "app_secret" not in listed[0] and created["app_secret"] not in out
    code, out = _run(data_dir, "list")
    assert code == 0 and created["app_key"] in out and created["app_secret"] not in out


def test_create_online_with_chosen_packages(data_dir: Path) -> None:
    code, out = _run(
        data_dir,
        "create",
        "--name",
        "Buyer tool",
        "--owner",
        "devnick",
        "--type",
        "buyer_tool",
        "--callback",
        "http://localhost:9000/cb",
        "--packages",
        "trades-read,users",
        "--online",
        "--json",
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["status"] == "online" and created["app_type"] == "buyer_tool"
    assert created["packages"] == ["trades-read", "users"]


def test_rotate_secret_replaces_it(data_dir: Path) -> None:
    _, out = _run(data_dir, "create", "--name", "Rotating", "--owner", "devnick", "--json")
    created = json.loads(out)
    code, out = _run(data_dir, "rotate-secret", "--app-key", created["app_key"], "--json")
    assert code == 0, out
    rotated = json.loads(out)
    assert rotated["app_key"] == created["app_key"]
    assert rotated["app_secret"] != created["app_secret"]
    assert _stored(data_dir, created["app_key"])[1] == rotated["app_secret"]


def test_bad_input_fails_with_the_field_named(data_dir: Path) -> None:
    code, out = _run(
        data_dir, "create", "--name", "X", "--owner", "devnick", "--packages", "nope", "--json"
    )
    assert code == 1 and json.loads(out)["problems"][0]["field"] == "packages"
    code, out = _run(data_dir, "create", "--name", "X", "--owner", "ghost")
    assert code == 1 and "no user ghost" in out
    code, out = _run(data_dir, "rotate-secret", "--app-key", "99999999", "--json")
    assert code == 1 and json.loads(out)["error"] == "not_found"
    code, out = _run(data_dir, "list", "--json")
    assert code == 0 and json.loads(out) == []
