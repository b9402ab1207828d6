"""Reading business parameters the way TOP writes them: times in the platform zone and
comma lists. One place, shared by every domain's methods."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from mercato.gateway.envelope import TOP_DATETIME
from mercato.kit.errors import ValidationFailed

DATE_ONLY = "%Y-%m-%d"


def top_time(value: str | None, field: str, zone: ZoneInfo) -> datetime | None:
    """A TOP time parameter, ``yyyy-MM-dd HH:mm:ss`` (or a bare ``yyyy-MM-dd``, meaning
    midnight) in the platform zone, as an aware datetime; None when absent; 41
    ``isv.invalid-parameter:<field>`` when it is neither form."""
    if value is None:
        return None
    text = value.strip()
    for fmt in (TOP_DATETIME, DATE_ONLY):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=zone)
        except ValueError:
            continue
    raise ValidationFailed.one(field, "datetime", f"{field} must be yyyy-MM-dd HH:mm:ss")


def comma_list(value: str | None) -> list[str]:
    """``a, b,,c`` → ``["a", "b", "c"]``."""
    return [part.strip() for part in (value or "").split(",") if part.strip()]
