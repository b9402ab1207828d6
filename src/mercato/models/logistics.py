"""Carriers, shipments and tracking events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mercato.models.base import Base, BigId, UTCDateTime


class Carrier(Base):
    """A logistics company (TOP's LogisticsCompany); ``reg_mail_no`` validates waybills."""

    __tablename__ = "carriers"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(60), default="")
    reg_mail_no: Mapped[str] = mapped_column(String(200))
    sort_order: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(12), default="normal")


class Shipment(Base):
    """One parcel of a trade: a carrier's waybill covering some or all of its orders."""

    __tablename__ = "shipments"
    __table_args__ = (Index("ix_shipments_waybill", "carrier_code", "waybill"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id"), index=True)
    carrier_code: Mapped[str] = mapped_column(String(16))
    waybill: Mapped[str] = mapped_column(String(64))
    order_ids: Mapped[str] = mapped_column(String(2000))  # comma list of oids
    shipped_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="CREATE")  # the latest event's


class TrackingEvent(Base):
    """A step of a parcel's journey: CREATE, GOT, DEPARTURE, ARRIVAL, SENT_SCAN, SIGNED, …"""

    __tablename__ = "tracking_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    shipment_id: Mapped[int] = mapped_column(ForeignKey("shipments.id"), index=True)
    action: Mapped[str] = mapped_column(String(16))
    description: Mapped[str] = mapped_column(String(200))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
