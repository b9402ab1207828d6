"""Fixtures for the demo seeders: a media directory, and pictures drawn once per session
(they are deterministic, and drawing ~400 of them is most of a demo seed's time)."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from mercato.demo import seed as seed_module
from mercato.demo.images import product_image
from mercato.kit.storage import LocalStorage

_cached_product_image = functools.cache(product_image)


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


@pytest.fixture(autouse=True)
def _draw_each_picture_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(seed_module, "product_image", _cached_product_image)
