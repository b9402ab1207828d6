"""Reading a ``/router/rest`` request into one parameter map (TOP-PROTOCOL.md §2.1): the
query string merged with an urlencoded or multipart body. Text must be UTF-8 (code 47);
multipart parts with the ``file`` disposition (official Python SDK) or a filename are files,
which are kept apart and never signed."""

from __future__ import annotations

from urllib.parse import parse_qsl

from python_multipart.multipart import MultipartParser, parse_options_header

from mercato.gateway.context import UploadedFile
from mercato.gateway.errors import GatewayError

MAX_FIELDS = 1000


def _bad_encoding() -> GatewayError:
    return GatewayError(47, "isv.invalid-encoding", "the request must be UTF-8")


def parse_urlencoded(raw: bytes) -> list[tuple[str, str]]:
    """``a=1&b=%E4%B8%AD``, strictly UTF-8; blank values are kept (they are signed)."""
    if not raw:
        return []
    try:
        text = raw.decode("utf-8")
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FIELDS,
        )
    except UnicodeDecodeError:
        raise _bad_encoding() from None
    except ValueError:
        raise GatewayError(43, "isv.invalid-body", "too many parameters") from None
    return pairs


class _Parts:
    """Collects multipart parts from python-multipart's callbacks."""

    def __init__(self) -> None:
        self.fields: list[tuple[str, str]] = []
        self.files: dict[str, UploadedFile] = {}
        self._header_name = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._data = bytearray()

    def on_part_begin(self) -> None:
        self._headers = {}
        self._data = bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_name.strip().lower()] = self._header_value.strip()
        self._header_name = self._header_value = b""

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._data += data[start:end]

    def on_part_end(self) -> None:
        disposition, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if b"name" not in options:
            raise GatewayError(43, "isv.invalid-body", "a multipart part has no name")
        try:
            name = options[b"name"].decode("utf-8")
        except UnicodeDecodeError:
            raise _bad_encoding() from None
        if disposition == b"file" or b"filename" in options:
            filename = options.get(b"filename", b"").decode("utf-8", "replace")
            ctype = self._headers.get(b"content-type", b"application/octet-stream")
            self.files[name] = UploadedFile(filename, ctype.decode("latin-1"), bytes(self._data))
            return
        try:
            self.fields.append((name, self._data.decode("utf-8")))
        except UnicodeDecodeError:
            raise _bad_encoding() from None
        if len(self.fields) > MAX_FIELDS:
            raise GatewayError(43, "isv.invalid-body", "too many parameters")


def parse_multipart(content_type: str, raw: bytes) -> _Parts:
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        raise GatewayError(43, "isv.invalid-body", "multipart without a boundary")
    parts = _Parts()
    callbacks = {
        "on_part_begin": parts.on_part_begin,
        "on_header_field": parts.on_header_field,
        "on_header_value": parts.on_header_value,
        "on_header_end": parts.on_header_end,
        "on_part_data": parts.on_part_data,
        "on_part_end": parts.on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks)  # type: ignore[arg-type]
        parser.write(raw)
        parser.finalize()
    except GatewayError:
        raise
    except Exception:
        raise GatewayError(43, "isv.invalid-body", "the multipart body is malformed") from None
    return parts


def read_params(
    query: bytes, content_type: str, body: bytes
) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """One map of every text parameter (body values win over the query string's) and the
    file parts."""
    params = dict(parse_urlencoded(query))
    files: dict[str, UploadedFile] = {}
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "multipart/form-data":
        parts = parse_multipart(content_type, body)
        params.update(parts.fields)
        files = parts.files
    elif kind == "application/x-www-form-urlencoded" or (not kind and body):
        params.update(parse_urlencoded(body))
    # Other bodies (JSON, text) carry no TOP parameters and are ignored.
    return params, files
