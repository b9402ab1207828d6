"""Secrets that must be read back (an app secret is an HMAC key for every signed call), kept
encrypted at rest under a key derived from the server secret: a copy of the database alone
reveals none of them. Fernet (AES-128-CBC + HMAC-SHA256) from ``cryptography``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

_LABEL = b"mercato/secrets-at-rest/v1"


class UnreadableSecret(Exception):
    """The stored value was not encrypted under this server secret."""


@lru_cache(maxsize=8)
def _fernet(server_secret: str) -> Fernet:
    key = hmac.new(server_secret.encode(), _LABEL, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(server_secret: str, plaintext: str) -> str:
    return _fernet(server_secret).encrypt(plaintext.encode()).decode("ascii")


@lru_cache(maxsize=1024)
def decrypt(server_secret: str, stored: str) -> str:
    """The plaintext of ``stored``. Cached by ciphertext: every signed call needs its app's
    secret, the answer for one ciphertext never changes, and a rotated secret is a new
    ciphertext (so a rotation takes effect at once)."""
    try:
        return _fernet(server_secret).decrypt(stored.encode("ascii")).decode()
    except (InvalidToken, ValueError) as exc:
        raise UnreadableSecret("secret not readable with this server secret") from exc


def sha256_hex(value: str) -> str:
    """How codes and tokens are stored: only their hash is kept and compared."""
    return hashlib.sha256(value.encode()).hexdigest()
