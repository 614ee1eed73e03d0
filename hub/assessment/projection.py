"""The assessment projection: a consumer of committed events (hub/outbox) that keeps the
facts of `fold.py` in `assessment_cases` and `assessment_holdings`. Its rows change in the
transaction that moves its stream position, so they are exactly once in effect; resetting
its position to 0 and deleting its rows rebuilds them from the timeline (`rebuild`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import groupby

from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.assessment.fold import CaseFolder
from hub.assessment.models import AssessedCase, Holding
from hub.cases.events import Consumer
from hub.cases.models import CaseEvent
from hub.clock import Clock
from hub.db import Database
from hub.outbox.consumer import step
from hub.outbox.models import ConsumerPosition
from hub.realtime.models import StreamState


class AssessmentProjection:
    name = Consumer.ASSESSMENT

    async def handle(self, session: AsyncSession, events: Sequence[CaseEvent]) -> None:
        ids = sorted({e.case_id for e in events})
        facts = {
            f.case_id: f
            for f in (
                await session.exec(select(AssessedCase).where(col(AssessedCase.case_id).in_(ids)))
            ).all()
        }
        holdings = list(
            (await session.exec(select(Holding).where(col(Holding.case_id).in_(ids)))).all()
        )
        spells: dict[int, int] = {}
        open_spell: dict[int, Holding] = {}
        for h in holdings:
            spells[h.case_id] = max(spells.get(h.case_id, 0), h.n)
            if h.ended_at is None:
                open_spell[h.case_id] = h
        ordered = sorted(events, key=lambda e: (e.case_id, e.seq))
        for case_id, mine in groupby(ordered, key=lambda e: e.case_id):
            fact = facts.get(case_id)
            folder = CaseFolder(fact, open_spell.get(case_id), spells.get(case_id, 0))
            for event in mine:
                if fact is not None and event.seq <= fact.last_seq:
                    continue  # folded already (a rebuild racing a step): never twice
                folder.apply(event)
            if folder.fact is not None:
                session.add(folder.fact)
            for spell in folder.new:
                session.add(spell)
            # Stored rows the folder changed are tracked by the session and flushed with it.


async def rebuild_all(
    db: Database, clock: Clock, *, progress: Callable[[int, int], None] = lambda _n, _t: None
) -> int:
    """`hub assessment rebuild`: forget the projection, then fold the whole stream again
    (what the runner would do, with progress); returns the positions folded. A running
    hub's runner may step alongside: they take turns on the position row."""
    await rebuild(db)
    async with db.read() as session:
        stream = (await session.exec(select(StreamState))).first()
    total = stream.last_position if stream else 0
    done = 0
    consumer = AssessmentProjection()
    while n := await step(db, consumer, clock.now()):
        done += n
        progress(done, total)
    return done


async def rebuild(db: Database) -> None:
    """Forget the projection and its position: the runner folds the timeline again."""
    async with db.transaction() as session:
        await session.exec(delete(Holding))
        await session.exec(delete(AssessedCase))
        await session.exec(
            delete(ConsumerPosition).where(col(ConsumerPosition.name) == Consumer.ASSESSMENT.value)
        )
