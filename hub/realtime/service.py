"""The live-push machinery of one hub process: bus, relay, gateway and their timers."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime

from sqlmodel import col, select

from hub.auth.models import User
from hub.db import Database
from hub.metrics import Metrics
from hub.realtime.bus import Bus, make_bus
from hub.realtime.counters import region_counters
from hub.realtime.gateway import Connection, Gateway
from hub.realtime.models import StreamState
from hub.realtime.protocol import CloseCode, CountersFrame
from hub.realtime.relay import Relay
from hub.regions.models import Region

log = logging.getLogger(__name__)
COUNTERS_EVERY_S = 0.5  # at most twice a second per region
REVALIDATE_EVERY_S = 10.0  # how soon a disabled user's open sockets are closed


class Realtime:
    def __init__(self, db: Database, metrics: Metrics, bus_url: str, *, relay: bool = True) -> None:
        self.db = db
        self.metrics = metrics
        self.bus: Bus = make_bus(bus_url)
        self.gateway = Gateway(db, metrics)
        self.relay = Relay(db, self.bus, metrics) if relay else None
        self._tasks: list[asyncio.Task[None]] = []

    def poke(self) -> None:
        if self.relay is not None:
            self.relay.poke()

    async def start(self) -> None:
        await self.gateway.start()
        await self.bus.start(self.gateway.deliver)
        if self.relay is not None:
            self.relay.start()
            self.relay.poke()  # anything committed while no relay ran (a crash) goes out now
        self._tasks = [
            asyncio.create_task(self._counters_loop(), name="wall-counters"),
            asyncio.create_task(self._revalidate_loop(), name="ws-revalidate"),
        ]

    async def stop(self) -> None:
        await self.gateway.shutdown()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.relay is not None:
            await self.relay.stop()
        await self.bus.stop()

    async def push_counters(self, region_ids: set[int], *, only: Connection | None = None) -> None:
        """Counters of each region to its watchers — or, for a new subscription, to that one
        socket only (sending to every watcher on each subscribe made connecting N walls
        cost N² frames)."""
        watchers = (
            {rid: [only] for rid in region_ids}
            if only is not None
            else self.gateway.subscribers_of(region_ids)
        )
        if not watchers:
            return
        now = datetime.now(UTC)
        async with self.db.read() as session:
            for region_id, conns in watchers.items():
                region = await session.get(Region, region_id)
                if region is None:
                    continue
                counters = await region_counters(session, region.tier, region_id, now)
                text = CountersFrame(
                    region=region.code, as_of=now.isoformat(), counters=counters
                ).model_dump_json()
                for conn in conns:
                    self.gateway.send(conn, text, "counters")

    async def _counters_loop(self) -> None:
        while True:
            await asyncio.sleep(COUNTERS_EVERY_S)
            dirty, self.gateway.dirty_regions = self.gateway.dirty_regions, set()
            self.metrics.bus_lag.set(max(0, await self._head() - self.gateway.last_seen))
            if dirty:
                try:
                    await self.push_counters(dirty)
                except Exception:
                    log.exception("counters failed")

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
