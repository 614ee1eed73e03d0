"""Gauges read from the database and the process when Prometheus scrapes `/metrics`, not
kept up to date on the hot paths: open cases by state, the client pool's use, the bus,
the relay's backlog and how far each outbox consumer is behind."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import col, select

from hub.cases.machine import OPEN_STATES
from hub.cases.models import Case, CaseEvent
from hub.deps import Hub
from hub.outbox.models import ConsumerPosition
from hub.outbox.runner import default_consumers
from hub.realtime.models import StreamState
from hub.sla.engine import flag_unknown_years


async def refresh(hub: Hub) -> None:
    metrics = hub.metrics
    async with hub.db.read() as session:
        by_state = (
            await session.exec(
                select(Case.state, func.count())
                .where(col(Case.state).in_(OPEN_STATES))
                .group_by(Case.state)
            )
        ).all()
        # The relay's work queue, by the partial index on rows without a position.
        unnumbered = (
            await session.exec(
                select(func.count()).select_from(CaseEvent).where(col(CaseEvent.position).is_(None))
            )
        ).one()
        stream = (await session.exec(select(StreamState))).first()
        stored = {p.name: p.position for p in (await session.exec(select(ConsumerPosition))).all()}
    counts = {state: n for state, n in by_state}
    for state in OPEN_STATES:
        metrics.open_cases.labels(state=state.value).set(counts.get(state, 0))
    metrics.outbox_unnumbered.set(unnumbered)
    head = stream.last_position if stream else 0
    for consumer in default_consumers():
        # A consumer that never ran is behind by the whole stream.
        metrics.consumer_lag.labels(consumer=consumer.name.value).set(
            max(0, head - stored.get(consumer.name.value, 0))
        )
    in_use, capacity = hub.db.pool_usage()
    metrics.db_pool_in_use.set(in_use)
    metrics.db_pool_capacity.set(capacity)
    realtime = hub.realtime
    metrics.bus_up.set(1 if realtime is None or realtime.bus.healthy else 0)
    flag_unknown_years(hub, (await hub.reference.get()).calendar)
