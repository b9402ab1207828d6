"""TMC, the message channel of TOP-PROTOCOL.md §11: a pure codec for its binary frames and
protocol messages (no I/O). See docs/tmc.md."""

from mercato.messaging.tmc.codec import (
    DEFAULT_GROUP,
    ClientMessage,
    Confirm,
    Connect,
    Fail,
    MessageKind,
    PullRequest,
    client_message,
    connect_ack,
    connect_refused,
    data_push,
    handshake_sign,
)
from mercato.messaging.tmc.frames import (
    MAX_FRAME_BYTES,
    PROTOCOL_VERSION,
    Frame,
    HeaderType,
    MessageType,
    decode,
    encode,
)
from mercato.messaging.tmc.values import FrameError, Value, ValueFormat

__all__ = [
    "DEFAULT_GROUP",
    "MAX_FRAME_BYTES",
    "PROTOCOL_VERSION",
    "ClientMessage",
    "Confirm",
    "Connect",
    "Fail",
    "Frame",
    "FrameError",
    "HeaderType",
    "MessageKind",
    "MessageType",
    "PullRequest",
    "Value",
    "ValueFormat",
    "client_message",
    "connect_ack",
    "connect_refused",
    "data_push",
    "decode",
    "encode",
    "handshake_sign",
]
