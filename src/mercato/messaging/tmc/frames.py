"""TMC frames (TOP-PROTOCOL.md §11.2): one per binary WebSocket message, little-endian,
``version | message type | headers… | end of headers``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import IntEnum
from typing import NamedTuple

from mercato.messaging.tmc.values import (
    FrameError,
    Source,
    Value,
    pack_uint,
    write_string,
    write_value,
)

PROTOCOL_VERSION = 2
MAX_FRAME_BYTES = 1 << 20


class MessageType(IntEnum):
    CONNECT = 0
    CONNECTACK = 1
    SEND = 2
    SENDACK = 3


class HeaderType(IntEnum):
    END = 0
    CUSTOM = 1
    STATUS_CODE = 2
    STATUS_PHRASE = 3
    FLAG = 4
    TOKEN = 5


@dataclass
class Frame:
    """One TMC frame. ``headers`` are the custom headers, in the order they were written."""

    message_type: MessageType
    version: int = PROTOCOL_VERSION
    flag: int | None = None
    token: str | None = None
    status_code: int | None = None
    status_phrase: str | None = None
    headers: dict[str, Value] = field(default_factory=dict)


class _Header(NamedTuple):
    kind: HeaderType
    key: str
    value: Value


def decode(data: bytes | bytearray | memoryview, *, max_bytes: int = MAX_FRAME_BYTES) -> Frame:
    """The frame in ``data``, tolerating what clients in the wild write (§11.2); any
    malformed input raises :class:`FrameError` with a short reason."""
    if len(data) > max_bytes:
        raise FrameError(f"frame is larger than {max_bytes} bytes")
    buf = bytes(data)
    if len(buf) < 2:
        raise FrameError("truncated frame")
    if buf[1] not in MessageType._value2member_map_:
        raise FrameError(f"unknown message type {buf[1]}")
    frame = Frame(MessageType(buf[1]), version=buf[0])
    source = Source(buf)
    # Every client writes the fixed headers before the custom ones; a reading that keeps
    # to that order is preferred, as it settles the rare bytes two readings both fit
    # (a stray void before "03 00 00", an int16 0, also reads as void + statusPhrase "").
    headers, out_of_order = _search(source, ordered=True)
    if headers is None and out_of_order:
        headers, _ = _search(source, ordered=False)
    if headers is None:
        raise FrameError(source.reason)
    for header in headers:
        _apply(frame, header)
    return frame


def _search(source: Source, *, ordered: bool) -> tuple[list[_Header] | None, bool]:
    # A depth-first search over the readings of each header (values.Source lists the
    # standard encoding first, then the client quirks), so a well-formed frame reads
    # exactly as written and a quirky one reads the first way its whole length parses.
    # A header's readings depend only on where it starts (and, when ordered, on whether a
    # custom header came before), so a node that failed once is never tried again.
    failed: set[tuple[int, bool]] = set()
    path: list[_Header] = []
    out_of_order = False  # whether a reading was passed over for its order alone
    stack = [((2, False), _header_readings(source, 2))]
    while stack:
        (_, after_custom), readings = stack[-1]
        step = next(readings, None)
        if step is None:
            failed.add(stack.pop()[0])
            if stack:
                path.pop()
            continue
        header, end = step
        if header.kind is HeaderType.END:
            return path, out_of_order
        custom = header.kind is HeaderType.CUSTOM
        node = (end, ordered and (after_custom or custom))
        if after_custom and not custom:
            out_of_order = True
        elif node not in failed:
            path.append(header)
            stack.append((node, _header_readings(source, end)))
    return None, out_of_order


def _header_readings(source: Source, pos: int) -> Iterator[tuple[_Header, int]]:
    source.spend(2)
    kind = source.uint(pos, "<H")
    if kind is None:
        if pos == len(source.buf):
            source.fail(pos, "missing end of headers")
        return
    start = pos + 2
    if kind == HeaderType.END:
        if start == len(source.buf):
            yield _Header(HeaderType.END, "", None), start
        else:
            source.fail(start, "trailing bytes after end of headers")
    elif kind == HeaderType.CUSTOM:
        for key, key_end in source.strings(start):
            for value, end in source.values(key_end):
                yield _Header(HeaderType.CUSTOM, key, value), end
    elif kind in (HeaderType.STATUS_CODE, HeaderType.FLAG):
        number = source.uint(start, "<I")
        if number is not None:
            yield _Header(HeaderType(kind), "", number), start + 4
    elif kind in (HeaderType.STATUS_PHRASE, HeaderType.TOKEN):
        for text, end in source.strings(start):
            yield _Header(HeaderType(kind), "", text), end
    else:
        source.fail(pos, f"unknown header type {kind}")


def _apply(frame: Frame, header: _Header) -> None:
    kind, value = header.kind, header.value
    if kind is HeaderType.CUSTOM:
        frame.headers[header.key] = value
    elif isinstance(value, int):  # statusCode and flag are read as uint32
        if kind is HeaderType.STATUS_CODE:
            frame.status_code = value
        else:
            frame.flag = value
    elif kind is HeaderType.STATUS_PHRASE:
        frame.status_phrase = value if isinstance(value, str) else None
    else:
        frame.token = value if isinstance(value, str) else None


def encode(frame: Frame) -> bytes:
    """The bytes of ``frame`` in the subset the Python client reads (§11.2): header types
    0–5 in the order clients write them, strings with their UTF-8 byte length, integers in
    the width their key needs (§11.4), dates as ms since the epoch. FrameError for a value
    that has no such encoding."""
    out = bytearray()
    pack_uint(out, "<B", frame.version, "version")
    pack_uint(out, "<B", frame.message_type, "message type")
    fixed = (
        (HeaderType.STATUS_CODE, frame.status_code),
        (HeaderType.STATUS_PHRASE, frame.status_phrase),
        (HeaderType.FLAG, frame.flag),
        (HeaderType.TOKEN, frame.token),
    )
    for kind, setting in fixed:
        if setting is None:
            continue
        _fixed(out, kind)
        if isinstance(setting, str):
            write_string(out, setting, kind.name.lower())
        else:
            pack_uint(out, "<I", setting, kind.name.lower())
    for key, value in frame.headers.items():
        _fixed(out, HeaderType.CUSTOM)
        write_string(out, key, "key")
        write_value(out, key, value)
    _fixed(out, HeaderType.END)
    return bytes(out)


def _fixed(out: bytearray, kind: HeaderType) -> None:
    pack_uint(out, "<H", kind, "header type")
