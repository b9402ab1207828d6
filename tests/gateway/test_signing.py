"""Signatures: the documented test vector (TOP-PROTOCOL.md §3.1) and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mercato.gateway import signing

VECTOR = {"foo": "1", "bar": "2", "foo_bar": "3", "foobar": "4"}
SECRET = "helloworld"


def test_string_to_sign_sorts_by_byte_order() -> None:
    assert signing.string_to_sign(VECTOR) == "bar2foo1foo_bar3foobar4"


@pytest.mark.parametrize(
    ("sign_method", "expected"),
    [
        ("md5", "5AAF1C690262A24768F5478B084C2C8A"),
        ("hmac", "E687005F819D6F9E6ED085311C8ACC75"),
        ("hmac-sha256", "339676BF36C50A8BD3D8F6B4A81B2F9AA614B05BFCFEBEFC169CB830D6B77D3B"),
    ],
)
def test_vector(sign_method: str, expected: str) -> None:
    assert signing.sign(VECTOR, SECRET, sign_method) == expected
    assert signing.verify(VECTOR, SECRET, sign_method, expected)
    assert signing.verify(VECTOR, SECRET, sign_method, expected.lower())
    assert not signing.verify({**VECTOR, "foo": "9"}, SECRET, sign_method, expected)


def test_sign_itself_is_not_signed_and_empty_values_are() -> None:
    with_sign = {**VECTOR, "sign": "whatever"}
    assert signing.sign(with_sign, SECRET, "md5") == signing.sign(VECTOR, SECRET, "md5")
    assert signing.string_to_sign({"a": "", "b": "1"}) == "ab1"


def test_unknown_sign_method() -> None:
    with pytest.raises(ValueError):
        signing.sign(VECTOR, SECRET, "sha1")


def test_non_ascii_signature_is_just_wrong() -> None:
    assert not signing.verify(VECTOR, SECRET, "md5", "签名")


@given(
    st.dictionaries(st.text(min_size=1, max_size=8), st.text(max_size=8), max_size=6),
    st.sampled_from(signing.SIGN_METHODS),
)
def test_sign_verifies_and_ignores_order(params: dict[str, str], method: str) -> None:
    sign = signing.sign(params, SECRET, method)
    reordered = dict(reversed(list(params.items())))
    assert signing.verify(reordered, SECRET, method, sign)
    assert sign == sign.upper()
