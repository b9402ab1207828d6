"""The TMC protocol messages (TOP-PROTOCOL.md §11.3–11.4, §14.3) on top of the frame codec:
builders for what the server sends, a reader for what clients send, the handshake sign."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum

from mercato.gateway.signing import sign
from mercato.messaging.tmc.frames import Frame, MessageType
from mercato.messaging.tmc.values import FrameError, Value

DEFAULT_GROUP = "default"
_SIGNED_KEYS = ("app_key", "group_name", "timestamp", "sign")


class MessageKind(IntEnum):
    """The custom ``__kind`` header (the Java SDK's ``MessageKind``)."""

    NONE = 0
    PULL_REQUEST = 1
    CONFIRM = 2
    DATA = 3
    FAILED = 20


@dataclass(frozen=True)
class Connect:
    """A client's handshake; ``timestamp`` stays the text that was signed."""

    app_key: str
    group_name: str
    timestamp: str
    sign: str
    extra: dict[str, Value] = field(default_factory=dict)


@dataclass(frozen=True)
class PullRequest:
    token: str


@dataclass(frozen=True)
class Confirm:
    token: str
    id: int


@dataclass(frozen=True)
class Fail:
    token: str
    id: int
    msg: str | None


ClientMessage = Connect | PullRequest | Confirm | Fail


def handshake_sign(secret: str, app_key: str, group_name: str, timestamp: str) -> str:
    """The CONNECT ``sign`` (§11.3): TOP's md5 signature over exactly these three keys."""
    params = {"app_key": app_key, "group_name": group_name, "timestamp": timestamp}
    return sign(params, secret, "md5")


def connect_ack(token: str) -> Frame:
    """A successful handshake's answer: CONNECTACK carrying the token, no status."""
    return Frame(MessageType.CONNECTACK, token=token)


def connect_refused(status_code: int, phrase: str) -> Frame:
    """A refused handshake's answer (close the socket after sending it)."""
    if not status_code:
        raise ValueError("a refusal needs a non-zero status code")
    return Frame(MessageType.CONNECTACK, status_code=status_code, status_phrase=phrase)


def data_push(
    id: int | None,
    topic: str,
    content_json: str,
    time: datetime,
    publisher: str,
    nick: str,
    userid: int,
) -> Frame:
    """A Data message (§11.4), with the headers in the formats the Java and Python clients
    expect. The Python client confirms every SEND frame by its ``id`` and crashes on one
    without, so a missing or zero id is refused here."""
    if not id:
        raise ValueError("never send a Data frame without an id")
    headers: dict[str, Value] = {
        "__kind": MessageKind.DATA.value,
        "id": id,
        "topic": topic,
        "content": content_json,
        "time": time,
        "publisher": publisher,
        "nick": nick,
        "userid": userid,
    }
    return Frame(MessageType.SEND, headers=headers)


def client_message(frame: Frame) -> ClientMessage:
    """What a client's frame asks for: a handshake, a pull, a confirm or a fail.
    FrameError for any other frame."""
    if frame.message_type is MessageType.CONNECT:
        return _connect(frame.headers)
    if frame.message_type is not MessageType.SEND:
        raise FrameError(f"clients do not send {frame.message_type.name} frames")
    kind = frame.headers.get("__kind")
    if not isinstance(kind, int) or kind not in MessageKind._value2member_map_:
        raise FrameError(f"unknown message kind {kind!r}")
    token = frame.token
    if token is None:
        raise FrameError("message without a token")
    if kind == MessageKind.PULL_REQUEST:
        return PullRequest(token)
    if kind == MessageKind.CONFIRM:
        return Confirm(token, _message_id(frame.headers))
    if kind == MessageKind.FAILED:
        return Fail(token, _message_id(frame.headers), _optional_text(frame.headers, "msg"))
    raise FrameError(f"clients do not send {MessageKind(kind).name} messages")


def _connect(headers: dict[str, Value]) -> Connect:
    # Read by name: Python clients write the keys in dict order, which is not fixed.
    group = _optional_text(headers, "group_name")
    extra = {k: v for k, v in headers.items() if k not in _SIGNED_KEYS}
    return Connect(
        app_key=_text(headers, "app_key"),
        group_name=DEFAULT_GROUP if group is None else group,
        timestamp=_text(headers, "timestamp"),
        sign=_text(headers, "sign"),
        extra=extra,
    )


def _text(headers: dict[str, Value], key: str) -> str:
    value = _optional_text(headers, key)
    if value is None:
        raise FrameError(f"handshake without {key}")
    return value


def _optional_text(headers: dict[str, Value], key: str) -> str | None:
    # A client may write a numeric text (the timestamp) as an integer of any width.
    value = headers.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    raise FrameError(f"{key} is not text")


def _message_id(headers: dict[str, Value]) -> int:
    # Any integer width is accepted (clients write the smallest that fits), and so is a
    # decimal string; 0 is never an id the server sent.
    value = headers.get("id")
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value == 0:
        raise FrameError("message without an id")
    return value
