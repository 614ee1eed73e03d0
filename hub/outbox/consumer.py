"""What a consumer of committed events is, and the one step that advances it.

A consumer sees numbered events (stream positions from the relay) in position order, a
batch at a time, inside a transaction that also moves its stored position: whatever it
writes in that session commits with the position or not at all (exactly once in effect).
An effect outside the database (an HTTP call, a message) cannot join the transaction; such
a consumer records its own idempotency key per event and is at-least-once in delivery.
Numbering is gap-free and commits in order (relay.py), so once position N is visible every
position below it is, and "after my position" never skips an event."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cases.events import CATALOGUE, Consumer, EventType
from hub.cases.models import CaseEvent
from hub.db import Database
from hub.outbox.models import ConsumerPosition
from hub.realtime.models import StreamState

BATCH = 500


class EventConsumer(Protocol):
    name: Consumer

    async def handle(self, session: AsyncSession, events: Sequence[CaseEvent]) -> None:
        """Apply the batch's effect through `session` (only events of `wanted` types)."""


def wanted(name: Consumer) -> frozenset[str]:
    """The event types the catalogue says this consumer cares about."""
    return frozenset(t.value for t, spec in CATALOGUE.items() if name in spec.consumers)


async def step(db: Database, consumer: EventConsumer, now: datetime, batch: int = BATCH) -> int:
    """Hand the consumer its next batch of wanted events after its position; returns the
    positions it moved past (0: it is up to date). Two processes stepping the same
    consumer take turns on its position row's lock; the second sees the first's position
    and goes on from there."""
    async with db.transaction() as session:
        row = await _position(session, consumer.name)
        # Read the head first: every position up to it is committed and visible (the relay
        # moves it in the positions' own transaction), so the events up to it that this
        # consumer does not want need not be read at all, only skipped.
        stream = (await session.exec(select(StreamState))).first()
        head = stream.last_position if stream else 0
        if head <= row.position:
            return 0
        stmt = (
            select(CaseEvent)
            .where(col(CaseEvent.position) > row.position)
            .where(col(CaseEvent.position) <= head)
            .where(col(CaseEvent.type).in_(sorted(wanted(consumer.name))))
            .order_by(col(CaseEvent.position))
            .limit(batch)
        )
        mine = list((await session.exec(stmt)).all())
        if mine:
            await consumer.handle(session, mine)
        # A full batch may have more behind it: go on from its last event next time.
        last = mine[-1].position if len(mine) == batch else head
        assert last is not None
        scanned = last - row.position
        row.position, row.updated_at = last, now
        session.add(row)
        return scanned


async def _position(session: AsyncSession, name: Consumer) -> ConsumerPosition:
    stmt = select(ConsumerPosition).where(ConsumerPosition.name == name.value).with_for_update()
    row = (await session.exec(stmt)).first()
    if row is not None:
        return row
    # First run: start from the beginning of the stream (a consumer's effect is rebuilt
    # from the timeline). Another process's first run may insert the row meanwhile: its
    # insert wins, ours is undone alone (a savepoint) and we wait for its lock.
    try:
        async with session.begin_nested():
            session.add(ConsumerPosition(name=name.value, position=0))
    except IntegrityError:
        pass
    return (await session.exec(stmt)).one()


async def positions(db: Database) -> dict[str, int]:
    async with db.read() as session:
        rows = (await session.exec(select(ConsumerPosition))).all()
    return {r.name: r.position for r in rows}


__all__ = ["EventConsumer", "EventType", "positions", "step", "wanted"]
