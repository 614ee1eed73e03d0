"""The live-push machinery of one hub process: bus, relay, gateway and their timers."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging

from sqlmodel import col, select

from hub.auth.models import User
from hub.clock import Clock
from hub.db import Busy, Database, background_work
from hub.metrics import Metrics
from hub.outage import is_outage
from hub.realtime.bus import Bus, make_bus
from hub.realtime.counters import region_counters
from hub.realtime.gateway import Connection, Gateway
from hub.realtime.models import StreamState
from hub.realtime.protocol import CloseCode, CountersFrame
from hub.realtime.relay import Relay
from hub.realtime.snapshots import Snapshots
from hub.realtime.wire import encode_text
from hub.regions.models import Region

log = logging.getLogger(__name__)
COUNTERS_EVERY_S = 0.5  # at most twice a second per region
COUNTERS_SEND_BATCH = 25  # sockets sent a region's counters between yields to the loop
ADMIT_AT_ONCE = 32  # sockets authenticating or subscribing at once (hub/realtime/views.py)
REVALIDATE_EVERY_S = 10.0  # how soon a disabled user's open sockets are closed
GC_FREEZE_EVERY_SOCKETS = 200  # new sockets between two freezes (see freeze_sockets)
GC_RECLAIM_AFTER_CLOSED = 10_000  # closed sockets between two full collections


class Realtime:
    def __init__(
        self, db: Database, metrics: Metrics, bus_url: str, *, clock: Clock, relay: bool = True
    ) -> None:
        self.db = db
        self.metrics = metrics
        self.clock = clock
        self.bus: Bus = make_bus(bus_url)
        self.gateway = Gateway(db, metrics, clock)
        self.snapshots = Snapshots(db, clock, metrics)
        self.admission = asyncio.Semaphore(ADMIT_AT_ONCE)  # see hub/realtime/views.py
        self.relay = Relay(db, self.bus, metrics, clock) if relay else None
        self._tasks: list[asyncio.Task[None]] = []
        # region id -> (clock.monotonic() when computing began, the counters frame's text)
        self._counters: dict[int, tuple[float, str]] = {}
        self._computing: dict[int, asyncio.Future[str | None]] = {}
        self.gc_freeze_every = GC_FREEZE_EVERY_SOCKETS
        self.gc_reclaim_after = GC_RECLAIM_AFTER_CLOSED
        self._gc_mark = (0, 0)  # gateway.registered, .unregistered at the last freeze

    def poke(self) -> None:
        if self.relay is not None:
            self.relay.poke()

    async def start(self) -> None:
        await self.gateway.start()
        # Delivery (and the gaps it reads back) and the relay keep connections of their own.
        with background_work():
            await self.bus.start(self.gateway.deliver)
            if self.relay is not None:
                self.relay.start()
        if self.relay is not None:
            self.relay.poke()  # anything committed while no relay ran (a crash) goes out now
        self._tasks = [
            asyncio.create_task(self._counters_loop(), name="wall-counters"),
            asyncio.create_task(self._revalidate_loop(), name="ws-revalidate"),
        ]

    async def stop(self) -> None:
        await self.gateway.shutdown()
        for task in self._tasks:
            await _end(task)
        if self.relay is not None:
            await self.relay.stop()
        await self.bus.stop()

    async def push_counters(self, region_ids: set[int]) -> None:
        """Fresh counters of each region to everyone watching it (after its cases changed)."""
        for region_id in sorted(region_ids):
            if region_id not in self.gateway.topics.regions:
                continue  # nobody here watches it
            text = await self._compute_counters(region_id)
            if text is None:
                continue
            # The watchers as of now: a socket that subscribed meanwhile gets these too.
            watchers = self.gateway.subscribers_of((region_id,)).get(region_id, [])
            wire = encode_text(text)  # framed once for all of them
            for start in range(0, len(watchers), COUNTERS_SEND_BATCH):
                for conn in watchers[start : start + COUNTERS_SEND_BATCH]:
                    self.gateway.send(conn, text, "counters", wire)
                # Let live events through between batches: sending counters to every wall
                # holds the loop, and each step of a case's way to the screens (request,
                # commit, fan-out) would otherwise wait behind all of it, not one batch.
                await asyncio.sleep(0)

    async def send_counters(self, conn: Connection, region_ids: set[int]) -> None:
        """Counters for a new subscription, to that socket only. Computed at most once per
        COUNTERS_EVERY_S per region and shared: a thousand walls connecting at once cost a
        few counter queries, not a thousand (changes since then follow with the next push)."""
        for region_id in sorted(region_ids):
            cached = self._counters.get(region_id)
            if cached is None or self.clock.monotonic() - cached[0] >= COUNTERS_EVERY_S:
                pending = self._computing.get(region_id)
                if pending is None:
                    pending = asyncio.ensure_future(self._compute_shared(region_id))
                    self._computing[region_id] = pending
                await asyncio.shield(pending)  # several subscribers wait for one query
                cached = self._counters.get(region_id)
            if cached is not None:
                self.gateway.send(conn, cached[1], "counters")

    async def _compute_shared(self, region_id: int) -> str | None:
        try:
            return await self._compute_counters(region_id)
        finally:
            self._computing.pop(region_id, None)

    async def _compute_counters(self, region_id: int) -> str | None:
        started = self.clock.monotonic()
        now = self.clock.now()
        async with self.db.read() as session:
            region = await session.get(Region, region_id)
            if region is None:
                return None
            counters = await region_counters(session, region.tier, region_id, now)
        text = CountersFrame(
            region=region.code, as_of=now.isoformat(), counters=counters
        ).model_dump_json()
        cached = self._counters.get(region_id)
        if cached is None or cached[0] < started:  # a slower, older computation loses
            self._counters[region_id] = (started, text)
        return text

    async def _counters_loop(self) -> None:
        """Runs for the life of the process: any error (a busy or restarting database,
        a bug) is logged and the next round goes on; a task that died here stopped the
        walls' counters and `hub_bus_lag_positions` for good, and made `stop` re-raise."""
        while True:
            await asyncio.sleep(COUNTERS_EVERY_S)
            try:
                await self._counters_round()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("wall counters round failed; retrying")

    async def _counters_round(self) -> None:
        self.freeze_sockets()
        dirty, self.gateway.dirty_regions = self.gateway.dirty_regions, set()
        try:
            self.metrics.bus_lag.set(max(0, await self._head() - self.gateway.last_seen))
        except Busy:
            pass  # the loop must outlive a busy database: the gauge is set next round
        except Exception as exc:
            log.warning("bus lag not measured: the database failed", exc_info=not is_outage(exc))
        if dirty:
            try:
                # A region is dirty because events went out: its next ones are likely
                # near, and a counters push to 1,000 walls landing in the middle of an
                # event's way to them delayed it (broadcast p99; docs/benchmarks.md).
                await self.gateway.between_events(COUNTERS_EVERY_S / 2)
                await self.push_counters(dirty)
            except Busy:
                self.gateway.dirty_regions |= dirty  # pushed next time round
            except Exception as exc:
                if is_outage(exc):
                    self.gateway.dirty_regions |= dirty  # pushed once the database is back
                    log.warning("counters wait for the database: %s", exc)
                else:
                    log.exception("counters failed")

    def freeze_sockets(self) -> None:
        """Keep long-lived sockets out of the collector's full passes, as the process does
        its startup objects (hub/main.py). Each socket brings its own objects; with a few
        thousand sockets a full collection stalled every socket for a long time
        (docs/benchmarks.md), and connecting them triggered several. So every
        `gc_freeze_every` new sockets the young garbage is collected and everything alive
        is frozen. A frozen socket that closes is freed by reference counting except for
        its few objects in reference cycles, which stay until unfrozen: after
        `gc_reclaim_after` closed sockets everything is unfrozen and collected once (the
        whole heap, startup objects included, which is slow, so rarely)."""
        registered, unregistered = self.gateway.registered, self.gateway.unregistered
        if unregistered - self._gc_mark[1] >= self.gc_reclaim_after:
            gc.unfreeze()
            gc.collect()
        elif registered - self._gc_mark[0] >= self.gc_freeze_every:
            gc.collect(1)
        else:
            return
        gc.freeze()
        self._gc_mark = (registered, unregistered)

    async def _head(self) -> int:
        async with self.db.read() as session:
            state = (await session.exec(select(StreamState))).first()
        return state.last_position if state else 0

    async def _revalidate_loop(self) -> None:
        while True:
            await asyncio.sleep(REVALIDATE_EVERY_S)
            with contextlib.suppress(Exception):
                await self.revalidate()

    async def revalidate(self) -> None:
        """Close the sockets of users disabled or logged out since they connected."""
        conns = list(self.gateway.connections)
        ids = {c.user.user_id for c in conns}
        if not ids:
            return
        async with self.db.read() as session:
            rows = (
                await session.exec(
                    select(User.id, User.disabled, User.token_version).where(col(User.id).in_(ids))
                )
            ).all()
        valid = {uid: version for uid, disabled, version in rows if not disabled}
        for conn in conns:
            expected = conn.user.token_version
            if conn.user.user_id not in valid or (
                expected is not None and valid[conn.user.user_id] != expected
            ):
                self.gateway.close(conn, CloseCode.REVOKED, "session ended")


async def _end(task: asyncio.Task[None]) -> None:
    """Cancel a background task and wait for it; one that had died of an exception is
    logged, not re-raised, so that shutdown (and the process's exit code) is clean."""
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        pass
    except Exception:
        log.exception("background task %s had failed", task.get_name())
