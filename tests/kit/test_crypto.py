from __future__ import annotations

import pytest

from mercato.kit import crypto


def test_round_trip_and_wrong_server_secret() -> None:
    stored = crypto.encrypt("server-a", "app-secret-123")
    assert "app-secret-123" not in stored
    assert crypto.decrypt("server-a", stored) == "app-secret-123"
    with pytest.raises(crypto.UnreadableSecret):
        crypto.decrypt("server-b", stored)
    with pytest.raises(crypto.UnreadableSecret):
        crypto.decrypt("server-a", "not a token")


def test_hash_is_stable_hex() -> None:
    assert crypto.sha256_hex("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )
