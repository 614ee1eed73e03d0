"""The outbox relay: gives committed events their stream positions, then publishes them.

An event is written with its change; it has no position until the relay, after commit,
numbers it under a lock on the one `stream_state` row. So the stream order is the order of
numbering, gap-free, and an event committed just before a crash is numbered and published
by whichever relay runs next."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import UTC, datetime

from sqlalchemy import bindparam, update
from sqlmodel import col, select

from hub.cases.models import CaseEvent
from hub.db import Database
from hub.metrics import Metrics
from hub.realtime.bus import Bus, BusUnavailable
from hub.realtime.frames import events_between, frames_for
from hub.realtime.models import StreamState

log = logging.getLogger(__name__)
BATCH = 500
IDLE_POLL_S = 0.5  # catches events committed by other processes (and after a crash)
RETRY_S = 1.0


class Relay:
    def __init__(self, db: Database, bus: Bus, metrics: Metrics) -> None:
        self.db = db
        self.bus = bus
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._publish_lock = asyncio.Lock()

    def poke(self) -> None:
        """Called after a commit that wrote events: number and publish them now."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=IDLE_POLL_S)
            self._wake.clear()
            try:
                while await self.step():
                    pass
            except asyncio.CancelledError:
                raise
            except BusUnavailable as exc:
                log.warning("bus unavailable, events wait in the database: %s", exc)
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("relay step failed; retrying")
                await asyncio.sleep(RETRY_S)

    async def step(self) -> bool:
        """Number a batch, publish what is numbered but unpublished. True if it did work."""
        numbered = await self.assign()
        published = await self.publish_pending()
        return numbered > 0 or published > 0

    async def assign(self) -> int:
        async with self.db.transaction() as session:
            state = (
                await session.exec(select(StreamState).where(StreamState.id == 1).with_for_update())
            ).one()
            ids = (
                await session.exec(
                    select(CaseEvent.id)
                    .where(col(CaseEvent.position).is_(None))
                    .order_by(col(CaseEvent.id))
                    .limit(BATCH)
                )
            ).all()
            if not ids:
                return 0
            conn = await session.connection()
            first = state.last_position + 1
            rows = [{"b_id": eid, "b_pos": first + i} for i, eid in enumerate(ids)]
            table = CaseEvent.__table__  # type: ignore[attr-defined]
            # One executemany for the batch: the relay must not halve ingest throughput.
            await conn.execute(
                table.update()
                .where(table.c.id == bindparam("b_id"))
                .values(position=bindparam("b_pos")),
                rows,
            )
            position = first + len(ids) - 1
            state.last_position = position
            session.add(state)
        return len(ids)

    async def publish_pending(self) -> int:
        async with self._publish_lock:
            async with self.db.read() as session:
                state = (await session.exec(select(StreamState))).one()
                if state.published_position >= state.last_position:
                    return 0
                events = await events_between(
                    session, state.published_position, state.last_position, limit=BATCH
                )
                frames = await frames_for(session, events, datetime.now(UTC))
            if not frames:
                return 0
            await self.bus.publish(frames)
            now = time.time()
            for frame in frames:
                self.metrics.commit_to_publish.observe(
                    max(0.0, now - frame.committed_at.timestamp())
                )
            async with self.db.transaction() as session:
                conn = await session.connection()
                await conn.execute(
                    update(StreamState)
                    .where(col(StreamState.published_position) < frames[-1].position)
                    .values(published_position=frames[-1].position)
                )
            return len(frames)
