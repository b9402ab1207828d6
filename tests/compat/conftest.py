"""Real TOP clients against a live ``mercato demo``: an app made with ``mercato app
create``, and demo_seller's token with ``mercato token issue``, as a developer would."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pytest

from tests.live import LiveDemo


@dataclass(frozen=True)
class CompatApp:
    url: str
    host: str
    port: int
    app_key: str
    app_secret: str


@pytest.fixture(scope="session")
def compat_app(live_demo: LiveDemo) -> CompatApp:
    made = json.loads(
        live_demo.cli("app", "create", "--name", "compat", "--owner", "demo_dev", "--json")
    )
    host, port = live_demo.url.removeprefix("http://").split(":")
    return CompatApp(live_demo.url, host, int(port), made["app_key"], made["app_secret"])
