"""TOP responses (TOP-PROTOCOL.md §5, §8): the success root, ``request_id``, list wrapping,
``simplify``, JSON and XML, scalar rendering, ``fields`` selection and paging."""

from __future__ import annotations

import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mercato.kit.errors import ValidationFailed
from mercato.kit.money import format_fen

TOP_DATETIME = "%Y-%m-%d %H:%M:%S"
JSON_TYPE = "application/json;charset=utf-8"
XML_TYPE = "text/xml;charset=utf-8"
# Characters XML 1.0 cannot carry at all, even escaped.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ZONE = ZoneInfo("Asia/Shanghai")


def new_request_id() -> str:
    return secrets.token_hex(6)


def root_name(method: str) -> str:
    """``taobao.time.get`` → ``time_get_response``; other prefixes are kept."""
    return method.removeprefix("taobao.").replace(".", "_") + "_response"


# --- scalars -------------------------------------------------------------------------


class Fen(int):
    """An amount in fen: rendered as a 2-decimal yuan string (``"200.07"``)."""


def money(fen: int) -> str:
    return format_fen(fen)


def top_datetime(value: datetime, zone: ZoneInfo = _ZONE) -> str:
    """``yyyy-MM-dd HH:mm:ss`` in the platform zone (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(zone).strftime(TOP_DATETIME)


def with_str_twins(obj: dict[str, Any], *names: str) -> dict[str, Any]:
    """Add ``<name>_str`` beside the numeric ids ``names`` (``tid`` → ``tid_str``)."""
    for name in names:
        if obj.get(name) is not None:
            obj[f"{name}_str"] = str(obj[name])
    return obj


def _scalar(value: Any, zone: ZoneInfo) -> Any:
    if isinstance(value, Fen):
        return format_fen(value)
    if isinstance(value, bool | int | str | float):
        return value
    if isinstance(value, datetime):
        return top_datetime(value, zone)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def render(value: Any, lists: Mapping[str, str], *, simplify: bool, zone: ZoneInfo = _ZONE) -> Any:
    """Turn a handler's plain result into TOP's shape: lists named in ``lists`` wrapped as
    ``{"items": {"item": [...]}}`` (plain arrays when ``simplify``), ``None`` dropped,
    scalars rendered."""
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if item is None:
                continue
            rendered = render(item, lists, simplify=simplify, zone=zone)
            if isinstance(item, list | tuple) and key in lists and not simplify:
                rendered = {lists[key]: rendered}
            out[str(key)] = rendered
        return out
    if isinstance(value, list | tuple):
        return [render(v, lists, simplify=simplify, zone=zone) for v in value if v is not None]
    return _scalar(value, zone)


def success_body(
    method: str,
    result: Mapping[str, Any],
    lists: Mapping[str, str],
    request_id: str,
    *,
    simplify: bool = False,
    zone: ZoneInfo = _ZONE,
) -> dict[str, Any]:
    inner = render(result, lists, simplify=simplify, zone=zone)
    inner["request_id"] = request_id
    return inner if simplify else {root_name(method): inner}


def error_body(inner: Mapping[str, Any]) -> dict[str, Any]:
    return {"error_response": dict(inner)}


# --- serialisation -------------------------------------------------------------------


def to_json(body: Mapping[str, Any]) -> bytes:
    """Strict JSON (no NaN), UTF-8."""
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _xml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return _XML_ILLEGAL.sub("", str(value))


def _xml_fill(parent: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            if isinstance(item, list):  # a wrapped list: one element per entry
                for entry in item:
                    _xml_fill(ET.SubElement(parent, str(key)), entry)
            else:
                _xml_fill(ET.SubElement(parent, str(key)), item)
    else:
        parent.text = _xml_text(value)


def to_xml(body: Mapping[str, Any]) -> bytes:
    """``{"x_response": {...}}`` as ``<x_response>…</x_response>``; text is escaped by
    ElementTree and characters XML cannot carry are dropped."""
    ((root_key, inner),) = body.items()
    root = ET.Element(root_key)
    _xml_fill(root, inner)
    text = ET.tostring(root, encoding="unicode")
    return b'<?xml version="1.0" encoding="utf-8" ?>' + text.encode()


# --- fields --------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSelection:
    """A parsed ``fields`` parameter: whole fields, and sub-fields of sub-structures."""

    whole: frozenset[str]
    sub: Mapping[str, frozenset[str]]

    def wants(self, name: str) -> bool:
        return name in self.whole or name in self.sub

    def apply(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        """Only the selected fields of ``obj`` (unknown names are ignored, as TOP does)."""
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key in self.whole:
                out[key] = value
            elif key in self.sub:
                out[key] = _pick(value, self.sub[key])
        return out


def _pick(value: Any, names: frozenset[str]) -> Any:
    if isinstance(value, Mapping):
        return {k: v for k, v in value.items() if k in names}
    if isinstance(value, list | tuple):
        return [_pick(v, names) for v in value]
    return value


def parse_fields(raw: str, lists: Mapping[str, str] | None = None) -> FieldSelection:
    """``num_iid,title,sku,item_img.url``: naming a list's element (``sku``) selects the
    whole list (``skus``); a dotted name (``item_img.url``, ``location.state``) selects one
    sub-field."""
    container = {element: key for key, element in (lists or {}).items()}
    whole: set[str] = set()
    sub: dict[str, set[str]] = {}
    for part in raw.split(","):
        name = part.strip()
        if not name:
            continue
        head, _, rest = name.partition(".")
        head = container.get(head, head)
        if rest:
            sub.setdefault(head, set()).add(rest)
        else:
            whole.add(head)
    for name in whole:
        sub.pop(name, None)
    return FieldSelection(frozenset(whole), {k: frozenset(v) for k, v in sub.items()})


def require_fields(raw: str | None, lists: Mapping[str, str] | None = None) -> FieldSelection:
    """``fields`` for a method where it is required: 40 when absent or empty."""
    selection = parse_fields(raw or "", lists)
    if not selection.whole and not selection.sub:
        raise ValidationFailed.one("fields", "missing", "fields is required")
    return selection


# --- paging --------------------------------------------------------------------------

DEFAULT_PAGE_SIZE = 40


@dataclass(frozen=True)
class Paging:
    page_no: int
    page_size: int
    use_has_next: bool = False

    @property
    def offset(self) -> int:
        return (self.page_no - 1) * self.page_size

    @property
    def fetch(self) -> int:
        """Rows to fetch: one extra tells ``has_next`` without counting."""
        return self.page_size + 1 if self.use_has_next else self.page_size

    def result(self, rows: list[Any], total: int | None = None) -> tuple[list[Any], dict[str, Any]]:
        """The page's rows and the paging fields: ``has_next`` when ``use_has_next``,
        otherwise ``total_results``."""
        if self.use_has_next:
            return rows[: self.page_size], {"has_next": len(rows) > self.page_size}
        return rows, {"total_results": total if total is not None else len(rows)}


def paging(
    page_no: int | None,
    page_size: int | None,
    *,
    max_page_size: int,
    use_has_next: bool = False,
) -> Paging:
    """``page_no`` (default 1) and ``page_size`` (default 40, at most ``max_page_size``);
    out-of-range values are code 41."""
    no = 1 if page_no is None else page_no
    size = min(DEFAULT_PAGE_SIZE, max_page_size) if page_size is None else page_size
    if no < 1:
        raise ValidationFailed.one("page_no", "min", "page_no starts at 1")
    if not 1 <= size <= max_page_size:
        raise ValidationFailed.one("page_size", "range", f"page_size must be 1–{max_page_size}")
    return Paging(no, size, use_has_next)
