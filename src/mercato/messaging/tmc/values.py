"""The values inside a TMC frame (TOP-PROTOCOL.md §11.2): counted strings, the custom value
formats, and every way a client in the wild may have written them.

Reading is done by :class:`Source`, which lists the *readings* of the bytes at a position
(a value and the position after it), the standard encoding first and the client quirks
after it. The frame parser picks the first reading that lets the rest of the frame parse.
"""

from __future__ import annotations

import codecs
import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from enum import IntEnum

Value = str | int | datetime | bytes | None

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND = timedelta(milliseconds=1)


class FrameError(ValueError):
    """A TMC frame that cannot be read or written; the message says why, briefly."""


class ValueFormat(IntEnum):
    """The format byte in front of a custom header's value."""

    VOID = 0
    COUNTED_STRING = 1
    BYTE = 2
    INT16 = 3
    INT32 = 4
    INT64 = 5
    DATE = 6
    BYTE_ARRAY = 7


_INT_CODES = {
    ValueFormat.BYTE: "<B",
    ValueFormat.INT16: "<H",
    ValueFormat.INT32: "<I",
    ValueFormat.INT64: "<Q",
}

# §11.4: the Java client casts these to Byte/Long, so they keep one width whatever the value.
_KEY_FORMATS = {"__kind": ValueFormat.BYTE, "id": ValueFormat.INT64, "userid": ValueFormat.INT64}


class Source:
    """The bytes of one frame, read by position without ever slicing past their end.

    Readings never raise for bad input: a position that cannot be read yields nothing and
    notes why, and the reason noted furthest into the frame is the one reported. A budget
    on the bytes looked at keeps a frame built to be ambiguous from costing more than a
    few passes over its size."""

    def __init__(self, buf: bytes) -> None:
        self.buf = buf
        self._budget = 8 * len(buf) + 4096
        self._failed_at = -1
        self.reason = "malformed frame"

    def fail(self, pos: int, reason: str) -> None:
        if pos >= self._failed_at:
            self._failed_at, self.reason = pos, reason

    def spend(self, nbytes: int) -> None:
        self._budget -= nbytes + 1
        if self._budget < 0:
            raise FrameError("frame too ambiguous to read")

    def uint(self, pos: int, code: str) -> int | None:
        """The little-endian unsigned integer at ``pos``, or None when the frame ends first."""
        size = struct.calcsize(code)
        if pos + size > len(self.buf):
            self.fail(pos, "truncated frame")
            return None
        return int(struct.unpack_from(code, self.buf, pos)[0])

    def strings(self, pos: int) -> Iterator[tuple[str, int]]:
        """The readings of the counted string at ``pos``."""
        length = self.uint(pos, "<I")
        if length is not None:
            yield from self._counted(pos + 4, length)
        if pos < len(self.buf) and self.buf[pos] == 0:
            # The Python client writes an empty string as one zero byte, not a 4-byte 0.
            yield "", pos + 1

    def values(self, pos: int) -> Iterator[tuple[Value, int]]:
        """The readings of the value format byte at ``pos`` and the value behind it."""
        fmt = self.uint(pos, "<B")
        if fmt is None:
            return
        start = pos + 1
        if fmt == ValueFormat.VOID:
            yield None, start
            yield from self._after_stray_void(start)
        elif fmt in _INT_CODES:
            yield from self._int(start, _INT_CODES[ValueFormat(fmt)])
        elif fmt == ValueFormat.DATE:
            yield from self._date(start)
        elif fmt == ValueFormat.BYTE_ARRAY:
            yield from self._byte_array(start)
        else:
            # countedString, and any unknown format: the Python client reads both as one.
            yield from self.strings(start)

    def _counted(self, start: int, length: int) -> Iterator[tuple[str, int]]:
        # A string's length should be its UTF-8 byte count, and that reading comes first.
        # Some writers put the *character* count there instead: either followed by every
        # byte of the string (then reading that many characters recovers it), or, as the
        # Python client does (struct "%ds" with the character count), with the bytes cut
        # to that count (then only the last character can be broken; we keep the whole
        # ones). Which one it was shows only in whether the rest of the frame then parses,
        # which is why these are readings for the parser to choose from, not a verdict.
        if length > len(self.buf) - start:
            self.fail(start, f"string length {length} is larger than what remains")
            return
        raw = self.buf[start : start + length]
        self.spend(length)
        text = _utf8(raw)
        if text is not None:
            yield text, start + length
            if len(text) == length:
                return  # all ASCII: characters and bytes agree
        by_characters = self._characters(start, length)
        if by_characters is not None:
            yield by_characters
        whole = _whole_characters(raw) if text is None else None
        if whole is not None:
            yield whole, start + length
        elif text is None and by_characters is None:
            self.fail(start, "string is not UTF-8")

    def _characters(self, start: int, count: int) -> tuple[str, int] | None:
        """``count`` UTF-8 characters from ``start``, if that many are there."""
        window = self.buf[start : start + 4 * count]
        self.spend(len(window))
        text = window.decode("utf-8", "surrogateescape")[:count]
        try:
            size = len(text.encode("utf-8"))  # escaped (invalid) bytes do not encode
        except UnicodeEncodeError:
            return None
        return (text, start + size) if len(text) == count else None

    def _after_stray_void(self, start: int) -> Iterator[tuple[Value, int]]:
        # The Python client writes a void byte before any falsy value (0, ''), then the
        # value as usual: "00 02 00" is 0, "00 01 00" is ''.
        if start < len(self.buf) and self.buf[start] != ValueFormat.VOID:
            for value, end in self.values(start):
                if not value:
                    yield value, end

    def _int(self, start: int, code: str) -> Iterator[tuple[Value, int]]:
        value = self.uint(start, code)
        if value is not None:
            yield value, start + struct.calcsize(code)

    def _date(self, start: int) -> Iterator[tuple[Value, int]]:
        millis = self.uint(start, "<Q")
        if millis is None:
            return
        try:
            yield EPOCH + millis * _MILLISECOND, start + 8
        except OverflowError:
            self.fail(start, "date out of range")

    def _byte_array(self, start: int) -> Iterator[tuple[Value, int]]:
        length = self.uint(start, "<I")
        if length is None:
            return
        if length > len(self.buf) - start - 4:
            self.fail(start, f"byte array length {length} is larger than what remains")
            return
        yield self.buf[start + 4 : start + 4 + length], start + 4 + length


def _utf8(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _whole_characters(raw: bytes) -> str | None:
    """``raw`` without a character cut in two at its end; None if invalid elsewhere."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(raw, final=False)
    except UnicodeDecodeError:
        return None


def pack_uint(out: bytearray, code: str, value: int, what: str) -> None:
    """Append ``value`` little-endian, or raise FrameError naming ``what`` if it won't fit."""
    try:
        out += struct.pack(code, value)
    except struct.error:
        raise FrameError(f"{what} {value!r} does not fit {code[1:]}") from None


def write_string(out: bytearray, text: str, what: str) -> None:
    """Append ``text`` as a counted string: uint32 UTF-8 byte length, then the bytes."""
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:
        raise FrameError(f"{what} is not encodable as UTF-8") from None
    pack_uint(out, "<I", len(data), f"{what} length")
    out += data


def write_value(out: bytearray, key: str, value: Value) -> None:
    """Append a custom header's format byte and value, in what the Python client reads."""
    if value is None:
        out.append(ValueFormat.VOID)
    elif isinstance(value, bool):
        raise FrameError(f"{key}: booleans have no value format")
    elif isinstance(value, int):
        fmt = _KEY_FORMATS.get(key) or _smallest_format(value)
        out.append(fmt)
        pack_uint(out, _INT_CODES[fmt], value, key)
    elif isinstance(value, str):
        out.append(ValueFormat.COUNTED_STRING)
        write_string(out, value, key)
    elif isinstance(value, datetime):
        out.append(ValueFormat.DATE)
        pack_uint(out, "<Q", _millis(key, value), key)
    elif isinstance(value, bytes):
        # Python clients read only the first byte of a byteArray: not for their frames.
        out.append(ValueFormat.BYTE_ARRAY)
        pack_uint(out, "<I", len(value), f"{key} length")
        out += value
    else:
        raise FrameError(f"{key}: {type(value).__name__} has no value format")


def _smallest_format(value: int) -> ValueFormat:
    for fmt in (ValueFormat.BYTE, ValueFormat.INT16, ValueFormat.INT32):
        if value < 1 << 8 * struct.calcsize(_INT_CODES[fmt]):
            return fmt
    return ValueFormat.INT64


def _millis(key: str, when: datetime) -> int:
    if when.utcoffset() is None:
        raise FrameError(f"{key}: a date must be timezone-aware")
    return (when - EPOCH) // _MILLISECOND
