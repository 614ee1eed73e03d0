"""Consumers of committed events: each sees every numbered event of its types once, in
position order, from its stored position — through repeated and concurrent steps, a
consumer that fails halfway, and a rebuild from the start of the stream."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import httpx
import pytest
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.audit.models import AuditEntry
from hub.cases.events import Consumer, EventType
from hub.cases.models import CaseEvent
from hub.clock import FrozenClock
from hub.deps import Hub
from hub.outbox.consumer import positions, step, wanted
from hub.outbox.escalations import KIND, EscalationAudit
from hub.outbox.models import ConsumerPosition
from hub.outbox.runner import ConsumerRunner
from hub.realtime.bus import MemoryBus
from hub.realtime.relay import Relay
from hub.sla.engine import SlaEngine
from tests.helpers import Api, Auth


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def _escalate(api: Api, hub: Hub, clock: FrozenClock, n: int) -> None:
    """`n` housing cases, an hour overdue: each rung's actions are sla_escalation events."""
    for i in range(n):
        await api.create(title=f"房屋漏水 {i}", category_code="C02")
    clock.advance(timedelta(hours=1))
    await SlaEngine(hub, worker_id="t").run_due()
    relay = Relay(hub.db, MemoryBus(), hub.metrics, hub.clock)
    await relay.assign()  # what the relay would do after commit: number the events


async def _escalations(hub: Hub) -> list[CaseEvent]:
    async with hub.db.read() as session:
        stmt = select(CaseEvent).where(CaseEvent.type == KIND).order_by(col(CaseEvent.position))
        return list((await session.exec(stmt)).all())


async def _entries(hub: Hub) -> list[tuple[int, int]]:
    async with hub.db.read() as session:
        rows = (await session.exec(select(AuditEntry).where(AuditEntry.kind == KIND))).all()
    return sorted((r.detail["case_id"], r.detail["seq"]) for r in rows)


def test_the_catalogue_names_what_each_consumer_reads() -> None:
    assert wanted(Consumer.ESCALATION_AUDIT) == {EventType.SLA_ESCALATION.value}
    assert EventType.CREATED.value in wanted(Consumer.SOCKETS)


async def test_every_escalation_is_on_the_audit_log_once(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    await _escalate(api, hub, clock, 3)
    events = await _escalations(hub)
    assert len(events) >= 3 and all(e.position is not None for e in events)
    runner = ConsumerRunner(hub.db, hub.clock, [EscalationAudit()])
    # Two processes' runners at once, and again afterwards: still once each.
    await asyncio.gather(runner.run_once(), runner.run_once())
    await runner.run_once()
    assert await _entries(hub) == sorted((e.case_id, e.seq) for e in events)
    top = max(e.position for e in events if e.position is not None)
    assert (await positions(hub.db))[Consumer.ESCALATION_AUDIT.value] >= top


class _Flaky(EscalationAudit):
    """Writes its entries, then fails before the transaction commits (a crash)."""

    async def handle(self, session: AsyncSession, events: Sequence[CaseEvent]) -> None:
        await super().handle(session, events)
        await session.flush()
        raise RuntimeError("crashed halfway")


async def test_a_consumer_that_fails_halfway_leaves_neither_effect_nor_position(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    await _escalate(api, hub, clock, 2)
    with pytest.raises(RuntimeError):
        await step(hub.db, _Flaky(), hub.clock.now())
    assert await _entries(hub) == []
    assert (await positions(hub.db)).get(Consumer.ESCALATION_AUDIT.value, 0) == 0
    await ConsumerRunner(hub.db, hub.clock, [EscalationAudit()]).run_once()
    assert len(await _entries(hub)) == len(await _escalations(hub))


async def test_new_events_are_picked_up_after_the_position_and_a_rebuild_is_equal(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    runner = ConsumerRunner(hub.db, hub.clock, [EscalationAudit()])
    await _escalate(api, hub, clock, 1)
    await runner.run_once()
    first = await _entries(hub)
    await _escalate(api, hub, clock, 2)
    await runner.run_once()
    incremental = await _entries(hub)
    assert len(incremental) > len(first) and set(first) <= set(incremental)
    # Rebuilt from the start of the stream: the same projection.
    async with hub.db.transaction() as session:
        await session.exec(delete(AuditEntry).where(col(AuditEntry.kind) == KIND))
        await session.exec(delete(ConsumerPosition))
    await runner.run_once()
    assert await _entries(hub) == incremental


async def test_the_runner_in_a_task_catches_up_when_poked(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    runner = ConsumerRunner(hub.db, hub.clock, [EscalationAudit()], poll_s=60)
    runner.start()
    try:
        await _escalate(api, hub, clock, 1)
        runner.poke()
        want = len(await _escalations(hub))
        for _ in range(200):
            if len(await _entries(hub)) == want:
                break
            await asyncio.sleep(0.02)
        assert len(await _entries(hub)) == want
    finally:
        await runner.stop()


async def test_small_batches_see_every_wanted_event_and_skip_the_rest_unread(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    await _escalate(api, hub, clock, 2)
    escalations = await _escalations(hub)
    assert len(escalations) >= 2
    consumer = EscalationAudit()
    steps = []
    while n := await step(hub.db, consumer, clock.now(), batch=1):
        steps.append(n)
    assert len(escalations) <= len(steps) <= len(escalations) + 1
    assert await _entries(hub) == sorted((e.case_id, e.seq) for e in escalations)
    async with hub.db.read() as session:
        head = max(e.position or 0 for e in (await session.exec(select(CaseEvent))).all())
    # Past every event, wanted or not: the position ends at the head of the stream.
    assert (await positions(hub.db))[Consumer.ESCALATION_AUDIT.value] == head
    assert sum(steps) == head
    await api.create(title="未升级", category_code="C02")  # only unwanted events follow
    await Relay(hub.db, MemoryBus(), hub.metrics, hub.clock).assign()
    assert await step(hub.db, consumer, clock.now(), batch=1) > 0
    assert await step(hub.db, consumer, clock.now(), batch=1) == 0
    assert await _entries(hub) == sorted((e.case_id, e.seq) for e in escalations)
