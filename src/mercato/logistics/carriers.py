"""Carriers as reference data (TOP's LogisticsCompany, §9.6).

The rows are inserted by migration 0003; ``CARRIERS`` mirrors them so code and tests can
name them, and ``ensure_carriers`` restores them where a database lost them (the PostgreSQL
test fixture truncates every table). The waybill patterns are Mercato's own: realistic
shapes, not the carriers' published rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from mercato.models import Carrier

NORMAL = "normal"


@dataclass(frozen=True)
class CarrierSpec:
    code: str
    name: str
    name_en: str
    reg_mail_no: str
    sort_order: int


CARRIERS: tuple[CarrierSpec, ...] = (
    CarrierSpec("SF", "顺丰速运", "SF Express", r"^SF\d{12}$", 10),
    CarrierSpec("YTO", "圆通速递", "YTO Express", r"^YT\d{13}$", 20),
    CarrierSpec("ZTO", "中通快递", "ZTO Express", r"^[357]\d{11}$", 30),
    CarrierSpec("STO", "申通快递", "STO Express", r"^77\d{11}$", 40),
    CarrierSpec("YUNDA", "韵达快递", "Yunda Express", r"^\d{13}$", 50),
    CarrierSpec("EMS", "中国邮政EMS", "China Post EMS", r"^E[A-Z]\d{9}CN$", 60),
    CarrierSpec("POST", "中国邮政", "China Post", r"^\d{13}$", 70),
    CarrierSpec("JD", "京东物流", "JD Logistics", r"^JD\d{13,15}$", 80),
    CarrierSpec("ZJS", "宅急送", "ZJS Express", r"^\d{10}$", 90),
)


def normalize_code(code: str) -> str:
    return code.strip().upper()


def normalize_waybill(waybill: str) -> str:
    """Waybills are compared and stored stripped and upper-cased."""
    return waybill.strip().upper()


def waybill_matches(carrier: Carrier, waybill: str) -> bool:
    """Whether the (normalized) waybill has the carrier's shape."""
    return re.fullmatch(carrier.reg_mail_no, waybill, flags=re.ASCII) is not None


async def list_carriers(session: AsyncSession, *, include_disabled: bool = False) -> list[Carrier]:
    """The carriers a seller can choose, in display order."""
    query = select(Carrier).order_by(Carrier.sort_order, Carrier.code)
    if not include_disabled:
        query = query.where(Carrier.status == NORMAL)
    return list(await session.scalars(query))


async def get_carrier(session: AsyncSession, code: str) -> Carrier | None:
    """A carrier by code (case-insensitive), whatever its status; None when unknown."""
    return await session.scalar(select(Carrier).where(Carrier.code == normalize_code(code)))


async def ensure_carriers(session: AsyncSession) -> int:
    """Insert the reference carriers that are missing; returns how many were added."""
    have = set(await session.scalars(select(Carrier.code)))
    missing = [spec for spec in CARRIERS if spec.code not in have]
    for spec in missing:
        session.add(
            Carrier(
                code=spec.code,
                name=spec.name,
                name_en=spec.name_en,
                reg_mail_no=spec.reg_mail_no,
                sort_order=spec.sort_order,
                status=NORMAL,
            )
        )
    await session.flush()
    return len(missing)
