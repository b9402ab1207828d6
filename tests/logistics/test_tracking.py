from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

import mercato.timers  # noqa: F401  (registers every job handler)
from mercato.events import jobs
from mercato.events.jobs import registered_kinds
from mercato.kit.clock import clock
from mercato.kit.errors import NotFound, ValidationFailed
from mercato.logistics import service as logistics
from mercato.logistics import tracking
from mercato.models import Job, OutboxEvent, Shipment
from tests.logistics.conftest import Paid

SF1 = "SF100000000001"


async def _ship(paid: Paid, **kwargs: object) -> Shipment:
    async with paid.w.db.write() as session:
        return await logistics.offline_send(
            session,
            paid.w.alice,
            paid.tid,
            company_code="SF",
            out_sid=SF1,
            **kwargs,  # type: ignore[arg-type]
        )


def test_the_simulator_runs_wherever_jobs_run() -> None:
    assert tracking.SIMULATE_JOB in registered_kinds()


async def test_the_simulated_carrier_walks_the_parcel_to_signed(paid: Paid) -> None:
    shipment = await _ship(paid)
    try:
        # nothing is due yet
        assert await jobs.run_until_idle(paid.w.db) == 0
        # when the clock moves on, step by step
        seen: list[str] = []
        for _ in range(10):
            clock.advance(tracking.STEP_INTERVAL)
            await jobs.run_until_idle(paid.w.db)
            async with paid.w.db.read() as session:
                parcel = await session.get(Shipment, shipment.id)
            assert parcel is not None
            seen.append(parcel.status)
            if seen[-1] == "SIGNED":
                break
        # and once more: a signed parcel stays signed and schedules nothing
        clock.advance(timedelta(days=1))
        await jobs.run_until_idle(paid.w.db)
    finally:
        clock.reset()
    assert seen == ["GOT", "DEPARTURE", "ARRIVAL", "SENT_SCAN", "SIGNED"]
    async with paid.w.db.read() as session:
        trace = await logistics.trace(session, paid.w.buyer, paid.tid)
        events = list(
            await session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.topic == tracking.LOGISTICS_TRACE)
                .order_by(OutboxEvent.id)
            )
        )
        pending = list(
            await session.scalars(
                select(Job).where(Job.kind == tracking.SIMULATE_JOB, Job.status != "done")
            )
        )
    assert pending == []
    [(parcel, steps)] = trace
    assert parcel.id == shipment.id and parcel.status == "SIGNED"
    actions = ["CREATE", "GOT", "DEPARTURE", "ARRIVAL", "SENT_SCAN", "SIGNED"]
    assert [s.action for s in steps] == actions
    assert [s.occurred_at for s in steps] == sorted(s.occurred_at for s in steps)
    assert steps[1].description == "【杭州市】快件已被揽收"
    assert "杭州转运中心" in steps[2].description
    # the trade's messages: LogsticDetailTrace per step, seqs ascending without gaps
    assert [e.content["action"] for e in events] == actions
    seqs = [e.seq for e in events]
    assert seqs == list(range(seqs[0], seqs[0] + len(actions)))
    assert {e.subject for e in events} == {f"trade:{paid.tid}"}
    assert events[-1].content["status"] == "SIGNED" and events[-1].content["out_sid"] == SF1


async def test_a_step_job_that_runs_twice_adds_nothing(paid: Paid) -> None:
    shipment = await _ship(paid)
    payload = {"shipment_id": shipment.id, "step": "GOT"}
    async with paid.w.db.write() as session:
        await tracking.simulate(session, payload)
    async with paid.w.db.write() as session:
        await tracking.simulate(session, payload)
        await tracking.simulate(session, {"shipment_id": 10_000_000, "step": "GOT"})
    async with paid.w.db.read() as session:
        steps = await tracking.events_of(session, shipment.id)
    assert [s.action for s in steps] == ["CREATE", "GOT"]


async def test_without_simulation_no_job_is_scheduled(paid: Paid) -> None:
    await _ship(paid, simulate=False)
    async with paid.w.db.read() as session:
        kinds = {j.kind for j in await session.scalars(select(Job))}
    assert tracking.SIMULATE_JOB not in kinds


async def test_add_tracking_event_checks_its_input(paid: Paid) -> None:
    shipment = await _ship(paid, simulate=False)
    with pytest.raises(ValidationFailed):
        async with paid.w.db.write() as session:
            await tracking.add_tracking_event(session, shipment.id, "TELEPORTED", "嗖")
    with pytest.raises(ValidationFailed):
        async with paid.w.db.write() as session:
            await tracking.add_tracking_event(session, shipment.id, "OTHER", " ")
    with pytest.raises(NotFound):
        async with paid.w.db.write() as session:
            await tracking.add_tracking_event(session, 10_000_000, "OTHER", "x")
    async with paid.w.db.write() as session:
        step = await tracking.add_tracking_event(session, shipment.id, "FAILED", "派送失败")
    async with paid.w.db.read() as session:
        parcel = await session.get(Shipment, shipment.id)
        assert parcel is not None and parcel.status == "FAILED" and step.action == "FAILED"


async def test_the_trace_is_for_the_buyer_and_the_seller_only(paid: Paid) -> None:
    await _ship(paid, order_ids=paid.oids[:1])
    async with paid.w.db.write() as session:
        await logistics.offline_send(
            session, paid.w.alice, paid.tid, company_code="YTO", out_sid="YT1234567890123"
        )
    async with paid.w.db.read() as session:
        for viewer in (paid.w.buyer, paid.w.alice):
            parcels = await logistics.trace(session, viewer, paid.tid)
            assert [(s.carrier_code, s.waybill, [e.action for e in ev]) for s, ev in parcels] == [
                ("SF", SF1, ["CREATE"]),
                ("YTO", "YT1234567890123", ["CREATE"]),
            ]
        for stranger in (paid.w.bob, paid.w.other):
            with pytest.raises(NotFound):
                await logistics.trace(session, stranger, paid.tid)
        with pytest.raises(NotFound):
            await logistics.trace(session, paid.w.buyer, 10_000_000)
