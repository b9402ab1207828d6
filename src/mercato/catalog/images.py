"""Item image uploads: check that the bytes are a real, reasonably sized image, then store
them untouched (re-encoding would cost CPU and quality for no gain here)."""

from __future__ import annotations

import re
from io import BytesIO

from PIL import Image, UnidentifiedImageError

from mercato.kit.errors import ValidationFailed
from mercato.kit.storage import Storage

FIELD = "images"
# Pillow format name -> file suffix. Only formats every browser shows.
SUFFIXES = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "GIF": ".gif"}
# Used when no storage is at hand to build URLs; matches LocalStorage's default mount.
DEFAULT_MEDIA_URL = "/media"

# A storage key ("items/ab/cdef.png"), a site path or an http(s) URL; nothing that could
# become a javascript: or data: URL in a page.
_KEY = re.compile(r"^(https?://[^\s\"'<>]+|/?[A-Za-z0-9_][A-Za-z0-9_\-./]*)$")


def validate_and_store_image(
    storage: Storage, data: bytes, *, max_bytes: int, max_pixels: int, folder: str = "items"
) -> str:
    """Store an uploaded JPEG, PNG, WebP or GIF and return its key.

    Raises ``ValidationFailed`` (field "images") for an empty or oversized upload
    ("max_size"), too many pixels ("max_pixels") or anything that is not one of the accepted
    image formats ("image_format").
    """
    if not data:
        raise ValidationFailed.one(FIELD, "max_size", "the file is empty")
    if len(data) > max_bytes:
        raise ValidationFailed.one(FIELD, "max_size", f"the file is larger than {max_bytes} bytes")
    image_format = _checked_format(data, max_pixels)
    return storage.save(data, suffix=SUFFIXES[image_format], folder=folder)


def _checked_format(data: bytes, max_pixels: int) -> str:
    bad_format = ValidationFailed.one(FIELD, "image_format", "use a JPEG, PNG, WebP or GIF image")
    try:
        # open() reads only the header, so the size check comes before any decoding:
        # a small file can declare a huge canvas (a decompression bomb).
        with Image.open(BytesIO(data), formats=list(SUFFIXES)) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ValidationFailed.one(
                    FIELD, "max_pixels", f"the image has more than {max_pixels} pixels"
                )
            image.verify()
            image_format = image.format
    except ValidationFailed:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError, ValueError):
        raise bad_format from None
    if image_format not in SUFFIXES:
        raise bad_format
    return image_format


def is_image_key(key: str) -> bool:
    """Whether ``key`` may be stored as an item image reference."""
    return bool(_KEY.match(key)) and ".." not in key and len(key) <= 200


def image_url(key: str, storage: Storage | None = None) -> str:
    """The public URL of an image key (URLs pass through unchanged)."""
    if storage is not None:
        return storage.url(key)
    if key.startswith(("http://", "https://", "/")):
        return key
    return f"{DEFAULT_MEDIA_URL}/{key}"
