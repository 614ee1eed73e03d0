"""The outbox relay: gives committed events their stream positions, then publishes them.

An event is written with its change; it has no position until the relay, after commit,
numbers it under a lock on the one `stream_state` row. So the stream order is the order of
numbering, gap-free, and an event committed just before a crash is numbered and published
by whichever relay runs next. On a SQLite file new cases' events are numbered the same way
but inside the case writer's transaction (`number`), which holds the database's only write
lock anyway; the relay publishes what it is handed (`numbered`) in position order with its
own. What was numbered but not published when a process died is published on the next
start (`publish_pending`), as is anything a failed publish left behind."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Connection, Table, bindparam, select, update
from sqlmodel import col
from sqlmodel import select as orm_select

from hub.cases.models import CaseEvent
from hub.clock import Clock
from hub.db import Database
from hub.metrics import Metrics
from hub.outage import is_outage
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
# once (the wait was a visible part of a lone case's way to the screens and batched
# nothing; docs/benchmarks.md, Live push).
BUSY_WINDOW_S = 0.03
RETRY_S = 1.0
_EVENTS: Table = CaseEvent.__table__  # type: ignore[attr-defined]
_STATE: Table = StreamState.__table__  # type: ignore[attr-defined]
# Built once: constructing a statement and its cache key on every call cost more than
# running it (the numbering runs inside every case batch's transaction on SQLite).
_LOCK_STATE = (
    select(_STATE.c.last_position, _STATE.c.published_position)
    .where(_STATE.c.id == 1)
    .with_for_update()
)
_SET_STATE = (
    update(_STATE)
    .where(_STATE.c.id == 1)
    .values(last_position=bindparam("last"), published_position=bindparam("published"))
)
_SET_POSITION = (
    _EVENTS.update().where(_EVENTS.c.id == bindparam("b_id")).values(position=bindparam("b_pos"))
)


class Relay:
    def __init__(self, db: Database, bus: Bus, metrics: Metrics, clock: Clock) -> None:
        self.db = db
        self.bus = bus
        self.metrics = metrics
        self.clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._publish_lock = asyncio.Lock()
        self._busy_at = 0.0  # monotonic time of the last step that found work
        # How far this relay has published; recorded in its next numbering transaction.
        self._published = 0
        self._numbering_due = False  # a commit left events without positions
        self._ready: list[Frame] = []  # numbered in a writer's transaction, to publish
        # Monotonic times of the first commit not yet numbered and of the first hand-over
        # not yet published: commit-to-publish is measured from them, never from an
        # event's business time (the demo's backdated events are hours "old").
        self._poked_at: float | None = None
        self._ready_at: float | None = None

    def poke(self) -> None:
        """Called after a commit that wrote events: number and publish them now."""
        self._numbering_due = True
        if self._poked_at is None:
            self._poked_at = self.clock.monotonic()
        self._wake.set()

    def number(self, conn: Connection) -> list[Frame]:
        """Number waiting events in the caller's write transaction (the case writer's on
        SQLite; see hub/cases/writer.py Outbox) and return their frames, to be handed to
        `numbered` once it has committed. If it rolls back, so does the numbering."""
        return self._assign(conn)

    def numbered(self, frames: list[Frame]) -> None:
        """After that commit, on the loop: publish the frames next, in position order."""
        if self._ready_at is None:
            self._ready_at = self.clock.monotonic()
        self._ready += frames
        if len(frames) >= BATCH:
            self._numbering_due = True  # more may be waiting than one batch took
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # logged, not re-raised: shutdown (and the exit code) is clean
                log.exception("the relay had failed")

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
                busy = self.clock.monotonic() - self._busy_at < BUSY_WINDOW_S
                if busy and self._numbering_due and not self._ready:
                    await asyncio.sleep(COALESCE_S)
            except TimeoutError:
                catch_up = True
            self._wake.clear()
            number, self._numbering_due = self._numbering_due or catch_up, False
            try:
                while await self.step(catch_up=catch_up, number=number):
                    if number:
                        self._busy_at = self.clock.monotonic()
                catch_up = False
            except asyncio.CancelledError:
                raise
            except BusUnavailable as exc:
                log.warning("bus unavailable, events wait in the database: %s", exc)
                catch_up = True
                await asyncio.sleep(RETRY_S)
            except Exception as exc:
                if is_outage(exc):  # events wait in the database; no traceback per retry
                    log.warning("relay waits for the database: %s", exc)
                else:
                    log.exception("relay step failed; retrying")
                catch_up = True
                await asyncio.sleep(RETRY_S)

    async def step(self, *, catch_up: bool = True, number: bool = True) -> bool:
        """Publish what writers numbered, then (with `number`) number a batch and publish
        it; first (with `catch_up`) publish anything numbered earlier but not published (a
        crash, a bus outage). True if there was work."""
        caught_up = await self.publish_pending() if catch_up else 0
        published = 0
        if self._ready:  # before numbering: that may wait for the writer's next batch
            published += await self._publish_ready([], self.clock.monotonic())
        if number:
            # Frames handed over meanwhile may precede these: published together, in order.
            since, self._poked_at = self._poked_at, None
            since = self.clock.monotonic() if since is None else since
            published += await self._publish_ready(await self.assign(), since)
        return caught_up > 0 or published > 0

    async def _publish_ready(self, frames: list[Frame], since: float) -> int:
        ready, self._ready = self._ready, []
        ready_at, self._ready_at = self._ready_at, None
        if ready:
            frames = sorted([*ready, *frames], key=lambda f: f.position)
            since = min(since, since if ready_at is None else ready_at)
        if frames:
            await self._publish(frames, since)
        return len(frames)

    async def assign(self) -> list[Frame]:
        """One transaction: number the waiting events, build their frames, and record how far
        this relay has published (written here rather than in a transaction of its own)."""
        return await self.db.write_sync(self._assign)

    def _assign(self, conn: Connection) -> list[Frame]:
        # Synchronous: on SQLite the whole transaction is one call in the writer thread, so
        # the relay holds the single write lock for its work only (see Database.write_sync).
        state = conn.execute(_LOCK_STATE).one()
        events = unpositioned_sync(conn, limit=BATCH)
        published = state.published_position
        if self._published > published:
            published = min(self._published, state.last_position)
        last = state.last_position + len(events)
        if published != state.published_position or events:
            conn.execute(_SET_STATE, {"last": last, "published": published})
        if not events:
            return []
        for position, event in enumerate(events, start=state.last_position + 1):
            event.position = position
        # One executemany for the batch: the relay must not halve ingest throughput.
        conn.execute(_SET_POSITION, [{"b_id": e.id, "b_pos": e.position} for e in events])
        return frames_for_sync(conn, events, self.clock.now())

    async def _publish(self, frames: list[Frame], since: float) -> None:
        """`since`: the monotonic time the batch's first commit was seen (its wake-up, or
        the read that found it when another process or an earlier run committed it)."""
        await self.bus.publish(frames)
        waited_s = max(0.0, self.clock.monotonic() - since)
        for _ in frames:
            self.metrics.commit_to_publish.observe(waited_s)
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
                found_at = self.clock.monotonic()
                frames = await frames_for(session, events, self.clock.now())
            if not frames:
                return 0
            await self._publish(frames, found_at)
            async with self.db.transaction() as session:
                conn = await session.connection()
                await conn.execute(
                    update(StreamState)
                    .where(col(StreamState.published_position) < frames[-1].position)
                    .values(published_position=frames[-1].position)
                )
            return len(frames)
