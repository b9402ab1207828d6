"""Image uploads: real images are stored as they are; anything else is refused."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import pytest
from PIL import Image

from mercato.catalog.images import image_url, is_image_key, validate_and_store_image
from mercato.kit.errors import ValidationFailed
from mercato.kit.storage import LocalStorage

LIMITS = {"max_bytes": 100_000, "max_pixels": 64 * 64}


def picture(image_format: str, size: tuple[int, int] = (8, 6)) -> bytes:
    out = BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=image_format)
    return out.getvalue()


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path)


@pytest.mark.parametrize(
    ("image_format", "suffix"),
    [("PNG", ".png"), ("JPEG", ".jpg"), ("WEBP", ".webp"), ("GIF", ".gif")],
)
def test_accepted_formats_are_stored_untouched(
    storage: LocalStorage, image_format: str, suffix: str
) -> None:
    data = picture(image_format)
    key = validate_and_store_image(storage, data, **LIMITS)
    assert key.startswith("items/") and key.endswith(suffix)
    assert storage.read(key) == data


def test_the_suffix_follows_the_content_not_the_claim(storage: LocalStorage) -> None:
    key = validate_and_store_image(storage, picture("PNG"), folder="avatars", **LIMITS)
    assert key.startswith("avatars/") and key.endswith(".png")


@pytest.mark.parametrize(
    ("data", "rule"),
    [
        (b"", "max_size"),
        (b"\x89PNG" + b"\0" * 100_000, "max_size"),
        (b"just some text, not an image", "image_format"),
        (picture("PNG")[:40], "image_format"),  # truncated
        (picture("BMP"), "image_format"),  # a real image, but not a web format
        (picture("PNG", (65, 64)), "max_pixels"),
    ],
    ids=["empty", "oversized", "text", "truncated", "bmp", "too many pixels"],
)
def test_bad_uploads_are_refused(storage: LocalStorage, data: bytes, rule: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        validate_and_store_image(storage, data, **LIMITS)
    assert [(p.field, p.rule) for p in err.value.problems] == [("images", rule)]
    assert not any(storage.root.rglob("*.*"))


def test_image_keys_and_urls() -> None:
    assert is_image_key("items/ab/cdef.png")
    assert is_image_key("/media/items/ab/cdef.png")
    assert is_image_key("https://img.example.com/a.jpg")
    for bad in ("javascript:alert(1)", "data:image/png;base64,AA", "../../etc/passwd", "", "a b"):
        assert not is_image_key(bad), bad
    assert image_url("items/a.png") == "/media/items/a.png"
    assert image_url("/media/items/a.png") == "/media/items/a.png"
