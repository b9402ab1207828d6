"""Where uploaded files live. Local files by default; anything with the same three methods
(an object store, say) can take its place."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    def save(self, data: bytes, *, suffix: str, folder: str) -> str:
        """Store bytes and return the key that names them."""

    def url(self, key: str) -> str:
        """The public URL of a stored key."""

    def read(self, key: str) -> bytes: ...


class LocalStorage:
    """Files under a directory, served by the app at ``base_url``. Keys are content hashes,
    so saving the same bytes twice stores them once."""

    def __init__(self, root: Path, base_url: str = "/media") -> None:
        self.root = root
        self.base_url = base_url.rstrip("/")

    def save(self, data: bytes, *, suffix: str, folder: str) -> str:
        digest = hashlib.sha256(data).hexdigest()
        key = f"{folder}/{digest[:2]}/{digest[2:34]}{suffix}"
        path = self.root / key
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(path.suffix + ".part")
            tmp.write_bytes(data)
            tmp.replace(path)
        return key

    def url(self, key: str) -> str:
        if key.startswith(("http://", "https://", "/")):
            return key
        return f"{self.base_url}/{key}"

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()
