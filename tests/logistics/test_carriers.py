from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from mercato.kit.db import Database
from mercato.logistics.carriers import (
    CARRIERS,
    ensure_carriers,
    get_carrier,
    list_carriers,
    normalize_waybill,
    waybill_matches,
)
from mercato.models import Carrier


async def test_the_migration_inserts_the_reference_carriers(
    sqlite_template: Path, tmp_path: Path
) -> None:
    # given a freshly migrated database (the PostgreSQL fixture truncates reference data)
    path = tmp_path / "fresh.db"
    shutil.copyfile(sqlite_template, path)
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with db.read() as session:
            rows = await list_carriers(session)
    finally:
        await db.dispose()
    # then the rows are exactly CARRIERS, in display order
    assert [(c.code, c.name, c.name_en, c.reg_mail_no, c.sort_order) for c in rows] == [
        (s.code, s.name, s.name_en, s.reg_mail_no, s.sort_order) for s in CARRIERS
    ]
    assert {c.status for c in rows} == {"normal"}
    assert {"SF", "YTO", "ZTO", "STO", "YUNDA", "EMS", "POST", "JD", "ZJS"} == {
        c.code for c in rows
    }


async def test_list_and_get_carriers(db: Database) -> None:
    async with db.write() as session:
        await ensure_carriers(session)
        assert await ensure_carriers(session) == 0  # idempotent
        sf = await get_carrier(session, " sf ")
        assert sf is not None and sf.name == "顺丰速运"
        assert await get_carrier(session, "NOPE") is None
        zjs = await session.scalar(select(Carrier).where(Carrier.code == "ZJS"))
        assert zjs is not None
        zjs.status = "deleted"
        await session.flush()
        codes = [c.code for c in await list_carriers(session)]
        assert "ZJS" not in codes and codes[0] == "SF"
        assert "ZJS" in [c.code for c in await list_carriers(session, include_disabled=True)]


@pytest.mark.parametrize(
    ("code", "good", "bad"),
    [
        ("SF", "sf123456789012", "SF12345678901"),
        ("YTO", "YT1234567890123", "YT123456789012"),
        ("ZTO", "712345678901", "812345678901"),
        ("STO", "7712345678901", "7812345678901"),
        ("YUNDA", "1234567890123", "12345678901234"),
        ("EMS", "ea123456789cn", "E1123456789CN"),
        ("POST", "9876543210123", "98765432101"),
        ("JD", "JD0012345678901", "JD001234567"),
        ("ZJS", "1234567890", "123456789X"),
    ],
)
async def test_waybill_patterns(db: Database, code: str, good: str, bad: str) -> None:
    async with db.write() as session:
        await ensure_carriers(session)
        carrier = await get_carrier(session, code)
    assert carrier is not None
    assert waybill_matches(carrier, normalize_waybill(f"  {good} "))
    assert not waybill_matches(carrier, normalize_waybill(bad))
