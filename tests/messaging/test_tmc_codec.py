"""The TMC frame codec against the bytes of TOP-PROTOCOL.md §11 and §14.3, the quirks of
clients in the wild (built by hand here), malformed input, and properties over generated
frames and bytes."""

from __future__ import annotations

import contextlib
import struct
import tracemalloc
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from mercato.messaging.tmc import (
    MAX_FRAME_BYTES,
    Confirm,
    Connect,
    Fail,
    Frame,
    FrameError,
    MessageType,
    PullRequest,
    Value,
    client_message,
    connect_ack,
    connect_refused,
    data_push,
    decode,
    encode,
    handshake_sign,
)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
PULL_REQUEST = bytes.fromhex(
    "0202 0500 09000000 544f4b454e2d616263 0100 06000000 5f5f6b696e64 02 01 0000"
)


def u16(n: int) -> bytes:
    return struct.pack("<H", n)


def counted(text: str) -> bytes:
    data = text.encode()
    return struct.pack("<I", len(data)) + data


def custom(key: bytes, value: bytes) -> bytes:
    """A custom header from an already written key and value (format byte included)."""
    return u16(1) + key + value


def frame_bytes(message_type: int, *headers: bytes, token: bytes | None = None) -> bytes:
    token_header = b"" if token is None else u16(5) + token
    return bytes([2, message_type]) + token_header + b"".join(headers) + u16(0)


def send(*headers: bytes) -> bytes:
    return frame_bytes(2, *headers, token=counted("TOKEN-abc"))


KIND_CONFIRM = custom(counted("__kind"), b"\x02\x02")


class TestProtocolBytes:
    def test_pull_request_bytes_from_the_spec(self) -> None:
        frame = decode(PULL_REQUEST)
        assert frame == Frame(MessageType.SEND, token="TOKEN-abc", headers={"__kind": 1})
        assert client_message(frame) == PullRequest("TOKEN-abc")
        assert encode(frame) == PULL_REQUEST

    def test_confirm_layout_from_the_spec(self) -> None:
        data = send(KIND_CONFIRM, custom(counted("id"), b"\x05" + struct.pack("<Q", 2**60 + 7)))
        assert client_message(decode(data)) == Confirm("TOKEN-abc", 2**60 + 7)

    def test_connectack_bytes(self) -> None:
        token = "TOKEN-abc"
        expected = bytes([2, 1]) + u16(5) + struct.pack("<I", 9) + token.encode() + u16(0)
        assert encode(connect_ack(token)) == expected

    def test_connect_refused_carries_status(self) -> None:
        frame = decode(encode(connect_refused(401, "bad sign")))
        assert (frame.message_type, frame.status_code, frame.status_phrase) == (
            MessageType.CONNECTACK,
            401,
            "bad sign",
        )
        with pytest.raises(ValueError):
            connect_refused(0, "nothing wrong")

    def test_handshake_sign_example(self) -> None:
        sign = handshake_sign("helloworld", "12345678", "default", "1795502839647")
        assert sign == "72CBB42A83A4274217E90C6BA11FDF87"

    @pytest.mark.parametrize("order", [(0, 1, 2, 3, 4), (4, 3, 2, 1, 0), (2, 4, 0, 3, 1)])
    def test_connect_in_any_key_order(self, order: tuple[int, ...]) -> None:
        pairs = [
            ("timestamp", "1795502839647"),
            ("app_key", "12345678"),
            ("sdk", "top-sdk-java-201403304"),
            ("sign", "72CBB42A83A4274217E90C6BA11FDF87"),
            ("group_name", "default"),
        ]
        headers = [custom(counted(pairs[i][0]), b"\x01" + counted(pairs[i][1])) for i in order]
        data = bytes([2, 0]) + u16(4) + struct.pack("<I", 1) + b"".join(headers) + u16(0)
        message = client_message(decode(data))
        assert message == Connect(
            app_key="12345678",
            group_name="default",
            timestamp="1795502839647",
            sign="72CBB42A83A4274217E90C6BA11FDF87",
            extra={"sdk": "top-sdk-java-201403304"},
        )
        assert isinstance(message, Connect)
        assert message.sign == handshake_sign(
            "helloworld", message.app_key, message.group_name, message.timestamp
        )

    def test_connect_without_group_is_the_default_group(self) -> None:
        frame = Frame(MessageType.CONNECT, headers={"app_key": "1", "timestamp": "2", "sign": "S"})
        message = client_message(decode(encode(frame)))
        assert isinstance(message, Connect) and message.group_name == "default"

    def test_data_push_formats(self) -> None:
        when = datetime(2026, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
        frame = data_push(2**63 + 1, "taobao_trade_TradeCreate", '{"tid":1}', when, "1", "nick", 9)
        data = encode(frame)
        assert b"\x06\x00\x00\x00__kind\x02\x03" in data
        assert b"\x02\x00\x00\x00id\x05" + struct.pack("<Q", 2**63 + 1) in data
        assert b"\x04\x00\x00\x00time\x06" + struct.pack("<Q", 1767323045678) in data
        assert b"\x06\x00\x00\x00userid\x05" + struct.pack("<Q", 9) in data
        assert decode(data) == frame

    @pytest.mark.parametrize("missing", [None, 0])
    def test_data_push_refuses_a_missing_id(self, missing: int | None) -> None:
        with pytest.raises(ValueError, match="without an id"):
            data_push(missing, "t", "{}", EPOCH, "1", "n", 1)


class TestClientMessages:
    def test_fail_with_reason(self) -> None:
        kind = custom(counted("__kind"), b"\x02\x14")
        data = send(
            kind,
            custom(counted("id"), b"\x02\x07"),
            custom(counted("msg"), b"\x01" + counted("busy")),
        )
        assert client_message(decode(data)) == Fail("TOKEN-abc", 7, "busy")

    def test_confirm_with_decimal_string_id(self) -> None:
        data = send(KIND_CONFIRM, custom(counted("id"), b"\x01" + counted("42")))
        assert client_message(decode(data)) == Confirm("TOKEN-abc", 42)

    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            (Frame(MessageType.SEND, token="t", headers={"__kind": 2}), "without an id"),
            (Frame(MessageType.SEND, token="t", headers={"__kind": 2, "id": 0}), "without an id"),
            (Frame(MessageType.SEND, token="t", headers={"__kind": 9}), "unknown message kind"),
            (Frame(MessageType.SEND, token="t", headers={"__kind": "1"}), "unknown message kind"),
            (Frame(MessageType.SEND, token="t"), "unknown message kind"),
            (Frame(MessageType.SEND, token="t", headers={"__kind": 3}), "DATA"),
            (Frame(MessageType.SEND, headers={"__kind": 1}), "without a token"),
            (Frame(MessageType.SENDACK, token="t"), "SENDACK"),
            (Frame(MessageType.CONNECT, headers={"app_key": "1", "sign": "S"}), "timestamp"),
            (Frame(MessageType.CONNECT, headers={"app_key": b"1", "sign": "S"}), "not text"),
        ],
    )
    def test_anything_else_is_refused(self, frame: Frame, reason: str) -> None:
        with pytest.raises(FrameError, match=reason):
            client_message(frame)


class TestClientQuirks:
    @pytest.mark.parametrize(
        "id_value",
        [b"\x02\x07", b"\x03\x07\x00", b"\x04\x07\x00\x00\x00", b"\x05" + struct.pack("<Q", 7)],
    )
    def test_any_integer_width_for_kind_and_id(self, id_value: bytes) -> None:
        kind = custom(counted("__kind"), b"\x04" + struct.pack("<I", 2))
        data = send(kind, custom(counted("id"), id_value))
        assert client_message(decode(data)) == Confirm("TOKEN-abc", 7)

    def test_character_count_with_every_byte_written(self) -> None:
        # "中ab": 3 characters, 5 bytes; the byte reading "中" would leave "ab" as a header.
        text = "中ab".encode()
        data = send(custom(counted("msg"), b"\x01" + struct.pack("<I", 3) + text))
        assert decode(data).headers == {"msg": "中ab"}

    def test_character_count_on_key_and_token(self) -> None:
        key, token = "名字", "令牌é"
        data = frame_bytes(
            2,
            custom(struct.pack("<I", 2) + key.encode(), b"\x02\x05"),
            token=struct.pack("<I", 3) + token.encode(),
        )
        frame = decode(data)
        assert (frame.token, frame.headers) == (token, {key: 5})

    def test_character_count_with_bytes_cut_to_it(self) -> None:
        # Python 3 packs "%ds" with the character count: "a中" keeps 2 of its 4 bytes.
        data = send(custom(counted("msg"), b"\x01" + struct.pack("<I", 2) + b"a\xe4"))
        assert decode(data).headers == {"msg": "a"}

    def test_empty_string_as_one_zero_byte(self) -> None:
        data = frame_bytes(2, custom(b"\x00", b"\x01\x00"), token=b"\x00")
        frame = decode(data)
        assert (frame.token, frame.headers) == ("", {"": ""})

    @pytest.mark.parametrize(
        ("written", "value"),
        [
            (b"\x00\x01\x00", ""),
            (b"\x00\x01\x00\x00\x00\x00", ""),
            (b"\x00\x02\x00", 0),
            (b"\x00\x03\x00\x00", 0),
            (b"\x00\x04\x00\x00\x00\x00", 0),
            (b"\x00\x05" + bytes(8), 0),
        ],
    )
    def test_stray_void_before_a_falsy_value(self, written: bytes, value: Value) -> None:
        data = send(custom(counted("a"), written), custom(counted("b"), b"\x02\x01"))
        assert decode(data).headers == {"a": value, "b": 1}

    def test_a_real_void_is_none(self) -> None:
        data = send(custom(counted("a"), b"\x00"), custom(counted("id"), b"\x02\x01"))
        assert decode(data).headers == {"a": None, "id": 1}

    def test_fixed_header_after_custom_headers_still_reads(self) -> None:
        data = frame_bytes(2, KIND_CONFIRM, u16(5) + counted("late"), u16(4) + b"\x01\x00\x00\x00")
        frame = decode(data)
        assert (frame.token, frame.flag, frame.headers) == ("late", 1, {"__kind": 2})

    def test_unknown_value_format_reads_as_counted_string(self) -> None:
        data = send(custom(counted("x"), b"\x09" + counted("hi")))
        assert decode(data).headers == {"x": "hi"}

    def test_python_client_confirm_of_a_small_id(self) -> None:
        data = send(KIND_CONFIRM, custom(counted("id"), b"\x02\x07"))
        assert client_message(decode(data)) == Confirm("TOKEN-abc", 7)


def _malformed() -> list[tuple[bytes, str | None]]:
    header = bytes([2, 2])
    return [
        (b"", "truncated"),
        (b"\x02", "truncated"),
        (b"GET / HTTP/1.1\r\n", "unknown message type"),
        (header, "missing end of headers"),
        (PULL_REQUEST[:-2], "missing end of headers"),
        (PULL_REQUEST[:-1], None),
        (PULL_REQUEST[:12], None),
        (PULL_REQUEST + b"\x00", "trailing bytes"),
        (PULL_REQUEST + u16(0), "trailing bytes"),
        (header + u16(6) + u16(0), "unknown header type 6"),
        (header + u16(0x6261) + u16(0), "unknown header type"),
        (
            header + u16(5) + struct.pack("<I", 0xFFFFFFFF) + b"abc" + u16(0),
            "larger than what remains",
        ),
        (header + u16(5) + counted("x")[:4] + b"\xff" + u16(0), "not UTF-8"),
        (header + u16(2) + b"\x01\x00", "truncated"),
        (header + custom(counted("d"), b"\x06" + b"\xff" * 8) + u16(0), "date out of range"),
        (header + custom(counted("b"), b"\x07" + struct.pack("<I", 99) + b"x") + u16(0), "larger"),
        (header + custom(counted("i"), b"\x05\x01\x02") + u16(0), None),
    ]


class TestMalformed:
    @pytest.mark.parametrize(("data", "reason"), _malformed())
    def test_raises_frame_error(self, data: bytes, reason: str | None) -> None:
        with pytest.raises(FrameError, match=reason):
            decode(data)

    def test_frame_larger_than_the_limit(self) -> None:
        big = send(custom(counted("content"), b"\x01" + counted("x" * MAX_FRAME_BYTES)))
        with pytest.raises(FrameError, match="larger than"):
            decode(big)
        assert decode(PULL_REQUEST, max_bytes=len(PULL_REQUEST)).token == "TOKEN-abc"
        with pytest.raises(FrameError, match="larger than"):
            decode(PULL_REQUEST, max_bytes=len(PULL_REQUEST) - 1)

    def test_a_huge_claimed_length_allocates_nothing_like_it(self) -> None:
        data = bytes([2, 2]) + u16(1) + struct.pack("<I", 0xFFFFFFF0) + b"k" * 64 + u16(0)
        tracemalloc.start()
        try:
            with pytest.raises(FrameError):
                decode(data)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 64 * 1024

    @pytest.mark.parametrize(
        ("frame", "reason"),
        [
            (Frame(MessageType.SEND, headers={"__kind": 256}), "__kind"),
            (Frame(MessageType.SEND, headers={"n": -1}), "n"),
            (Frame(MessageType.SEND, headers={"n": 2**64}), "n"),
            (Frame(MessageType.SEND, headers={"b": True}), "boolean"),
            (Frame(MessageType.SEND, headers={"f": 1.5}), "float"),  # type: ignore[dict-item]
            (Frame(MessageType.SEND, headers={"t": datetime(2026, 1, 1)}), "timezone-aware"),
            (Frame(MessageType.SEND, headers={"t": EPOCH - timedelta(1)}), "t"),
            (Frame(MessageType.SEND, headers={"s": "\ud800"}), "UTF-8"),
            (Frame(MessageType.SEND, flag=2**32), "flag"),
            (Frame(MessageType.SEND, version=256), "version"),
        ],
    )
    def test_encode_refuses_what_has_no_encoding(self, frame: Frame, reason: str) -> None:
        with pytest.raises(FrameError, match=reason):
            encode(frame)


# --- properties ---------------------------------------------------------------------------

_uint32 = st.integers(0, 2**32 - 1)
_dates = st.integers(0, 253402300799999).map(lambda ms: EPOCH + timedelta(milliseconds=ms))
_values: st.SearchStrategy[Value] = st.one_of(
    st.none(), st.text(), st.integers(0, 2**64 - 1), _dates, st.binary()
)
_keys = st.text().filter(lambda key: key not in ("__kind", "id", "userid"))
_frames = st.builds(
    Frame,
    message_type=st.sampled_from(MessageType),
    version=st.integers(0, 255),
    flag=st.none() | _uint32,
    token=st.none() | st.text(),
    status_code=st.none() | _uint32,
    status_phrase=st.none() | st.text(),
    headers=st.dictionaries(_keys, _values, max_size=6)
    | st.fixed_dictionaries(
        {"__kind": st.integers(0, 255), "id": st.integers(0, 2**64 - 1), "x": _values}
    ),
)


def _decodes_or_refuses(data: bytes) -> None:
    with contextlib.suppress(FrameError):
        assert isinstance(decode(data), Frame)


class TestProperties:
    @given(_frames)
    def test_decode_inverts_encode(self, frame: Frame) -> None:
        assert decode(encode(frame)) == frame

    @given(st.binary(max_size=200))
    @example(b"\x02\x02\x01\x00\x00")
    def test_arbitrary_bytes(self, data: bytes) -> None:
        _decodes_or_refuses(data)

    @given(st.binary(max_size=120))
    def test_arbitrary_headers_after_a_valid_start(self, tail: bytes) -> None:
        _decodes_or_refuses(bytes([2, 2]) + tail)

    @given(_frames, st.data())
    def test_truncated_or_flipped_frames(self, frame: Frame, data: st.DataObject) -> None:
        raw = bytearray(encode(frame))
        cut = data.draw(st.integers(0, len(raw)))
        _decodes_or_refuses(bytes(raw[:cut]))
        for _ in range(data.draw(st.integers(1, 4))):
            at = data.draw(st.integers(0, len(raw) - 1))
            raw[at] = data.draw(st.integers(0, 255))
        _decodes_or_refuses(bytes(raw))


# What the Python client writes, with its quirks: the smallest integer width, a void byte
# before a falsy value, '' as one zero byte, and the character count as string length
# followed by either every byte ("full") or the bytes cut to that count ("cut").
_printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=12)
# Keys are names: an empty key right after a void value reads just as well as void + ''.
_names = _printable.filter(bool)


def _client_string(text: str, bytes_written: str) -> bytes:
    if not text:
        return b"\x00"
    data = text.encode()
    return struct.pack("<I", len(text)) + (data if bytes_written == "full" else data[: len(text)])


def _client_value(value: str | int, bytes_written: str) -> bytes:
    stray = b"" if value else b"\x00"
    if isinstance(value, str):
        return stray + b"\x01" + _client_string(value, bytes_written)
    for fmt, code in ((2, "<B"), (3, "<H"), (4, "<I"), (5, "<Q")):
        if value < (1 << 8 * struct.calcsize(code)) - 1:
            return stray + bytes([fmt]) + struct.pack(code, value)
    raise AssertionError("the client cannot write this")


def _cut_to_whole_characters(text: str) -> str:
    return text.encode()[: len(text)].decode(errors="ignore")


class TestPythonClientWriter:
    @given(
        st.dictionaries(_names, _printable | st.integers(0, 2**64 - 2), max_size=5),
        _printable,
    )
    def test_full_bytes_read_back_as_written(
        self, content: dict[str, str | int], token: str
    ) -> None:
        headers = [
            custom(_client_string(k, "full"), _client_value(v, "full")) for k, v in content.items()
        ]
        frame = decode(frame_bytes(2, *headers, token=_client_string(token, "full")))
        assert (frame.token, frame.headers) == (token, content)

    @given(st.dictionaries(st.text("abc_", min_size=1, max_size=6), _printable, max_size=5))
    def test_cut_bytes_keep_the_whole_characters(self, content: dict[str, str]) -> None:
        headers = [
            custom(_client_string(k, "cut"), _client_value(v, "cut")) for k, v in content.items()
        ]
        frame = decode(frame_bytes(2, *headers))
        assert frame.headers == {k: _cut_to_whole_characters(v) for k, v in content.items()}
