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

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlmodel import col
from sqlmodel import select as orm_select

from hub.cases.models import CaseEvent
from hub.db import Database
from hub.metrics import Metrics
from hub.realtime.bus import Bus, BusUnavailable
from hub.realtime.frames import (
    Frame,
    events_between,
    frames_for,
    frames_for_sync,
    unpositioned_sync,
)
from hub.realtime.models import StreamState

log = logging.getLogger(__name__)
BATCH = 500
IDLE_POLL_S = 0.5  # catches events committed by other processes (and after a crash)
# After a wake-up, wait this long so commits landing together are numbered as one batch:
# a few milliseconds of latency buy a relay transaction per batch instead of per case.
COALESCE_S = 0.003
# ...but only under load: a commit after this long without any numbering is numbered at
# once (3 ms were a tenth of a lone case's way to the screens and batched nothing).
BUSY_WINDOW_S = 0.03
RETRY_S = 1.0
_EVENTS: Table = CaseEvent.__table__  # type: ignore[attr-defined]
_STATE: Table = StreamState.__table__  # type: ignore[attr-defined]


class Relay:
    def __init__(self, db: Database, bus: Bus, metrics: Metrics) -> None:
        self.db = db
        self.bus = bus
        self.metrics = metrics
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._publish_lock = asyncio.Lock()
        self._busy_at = 0.0  # monotonic time of the last step that found work
        # How far this relay has published; recorded in its next numbering transaction.
        self._published = 0

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
        # Catch up (publish what is numbered but not published) on start, on every idle
        # poll and after a failure. A wake-up after a commit goes straight to numbering:
        # the read that looks for stragglers would only add to the new events' latency.
        catch_up = True
        while True:
            try:
                # Not asyncio.wait_for: on 3.11 it can swallow a cancel that lands as the
                # event is set, and stop() then waits forever (seen at shutdown under load).
                async with asyncio.timeout(IDLE_POLL_S):
                    await self._wake.wait()
                if time.monotonic() - self._busy_at < BUSY_WINDOW_S:
                    await asyncio.sleep(COALESCE_S)
            except TimeoutError:
                catch_up = True
            self._wake.clear()
            try:
                while await self.step(catch_up=catch_up):
                    self._busy_at = time.monotonic()
                catch_up = False
            except asyncio.CancelledError:
                raise
            except BusUnavailable as exc:
                log.warning("bus unavailable, events wait in the database: %s", exc)
                catch_up = True
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("relay step failed; retrying")
                catch_up = True
                await asyncio.sleep(RETRY_S)

    async def step(self, *, catch_up: bool = True) -> bool:
        """Number a batch and publish it; first (with `catch_up`) publish anything numbered
        earlier but not published (a crash, a bus outage). True if there was work."""
        caught_up = await self.publish_pending() if catch_up else 0
        frames = await self.assign()
        if frames:
            await self._publish(frames)
        return caught_up > 0 or bool(frames)

    async def assign(self) -> list[Frame]:
        """One transaction: number the waiting events, build their frames, and record how far
        this relay has published (written here rather than in a transaction of its own)."""
        return await self.db.write_sync(self._assign)

    def _assign(self, conn: Connection) -> list[Frame]:
        # Synchronous: on SQLite the whole transaction is one call in the writer thread, so
        # the relay holds the single write lock for its work only (see Database.write_sync).
        state = conn.execute(
            select(_STATE.c.last_position, _STATE.c.published_position)
            .where(_STATE.c.id == 1)
            .with_for_update()
        ).one()
        events = unpositioned_sync(conn, limit=BATCH)
        if self._published > state.published_position:
            published = min(self._published, state.last_position)
            conn.execute(
                update(_STATE).where(_STATE.c.id == 1).values(published_position=published)
            )
        if not events:
            return []
        first = state.last_position + 1
        for offset, event in enumerate(events):
            event.position = first + offset
        # One executemany for the batch: the relay must not halve ingest throughput.
        conn.execute(
            _EVENTS.update()
            .where(_EVENTS.c.id == bindparam("b_id"))
            .values(position=bindparam("b_pos")),
            [{"b_id": e.id, "b_pos": e.position} for e in events],
        )
        last = first + len(events) - 1
        conn.execute(update(_STATE).where(_STATE.c.id == 1).values(last_position=last))
        return frames_for_sync(conn, events, datetime.now(UTC))

    async def _publish(self, frames: list[Frame]) -> None:
        await self.bus.publish(frames)
        now = time.time()
        for frame in frames:
            self.metrics.commit_to_publish.observe(max(0.0, now - frame.committed_at.timestamp()))
        self._published = max(self._published, frames[-1].position)

    async def publish_pending(self) -> int:
        """Publish what is numbered but not recorded as published. Gateways drop what they
        already have, so publishing twice is harmless; missing a position never is."""
        async with self._publish_lock:
            async with self.db.read() as session:
                state = (await session.exec(orm_select(StreamState))).one()
                start = max(state.published_position, self._published)
                if start >= state.last_position:
                    return 0
                events = await events_between(session, start, state.last_position, limit=BATCH)
                frames = await frames_for(session, events, datetime.now(UTC))
            if not frames:
                return 0
            await self._publish(frames)
            async with self.db.transaction() as session:
                conn = await session.connection()
                await conn.execute(
                    update(StreamState)
                    .where(col(StreamState.published_position) < frames[-1].position)
                    .values(published_position=frames[-1].position)
                )
            return len(frames)
