"""TOP request signatures (TOP-PROTOCOL.md §3): over exactly the parameters received, sorted
by name in byte order, concatenated ``name1value1name2value2…`` as UTF-8, then hashed."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

SIGN_METHODS = ("md5", "hmac", "hmac-sha256")


def string_to_sign(params: Mapping[str, str]) -> str:
    """``S``: every parameter except ``sign``, sorted by the UTF-8 bytes of its name."""
    pairs = sorted(
        ((k, v) for k, v in params.items() if k != "sign"), key=lambda kv: kv[0].encode()
    )
    return "".join(f"{k}{v}" for k, v in pairs)


def sign(params: Mapping[str, str], secret: str, sign_method: str) -> str:
    """The uppercase hex signature; ``ValueError`` for an unknown ``sign_method``."""
    text = string_to_sign(params).encode()
    key = secret.encode()
    if sign_method == "md5":
        digest = hashlib.md5(key + text + key).hexdigest()
    elif sign_method == "hmac":
        digest = hmac.new(key, text, hashlib.md5).hexdigest()
    elif sign_method == "hmac-sha256":
        digest = hmac.new(key, text, hashlib.sha256).hexdigest()
    else:
        raise ValueError(f"unsupported sign_method {sign_method!r}")
    return digest.upper()


def verify(params: Mapping[str, str], secret: str, sign_method: str, sent: str) -> bool:
    """Whether ``sent`` is the signature of ``params``, compared in constant time (hex case
    is not significant)."""
    expected = sign(params, secret, sign_method)
    return hmac.compare_digest(expected.encode(), sent.strip().upper().encode())
