"""Fan-out of positioned frames to this process's sockets, in stream order, gap-free."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlmodel import select

from hub.auth.scope import case_visible
from hub.auth.service import Principal
from hub.db import Database
from hub.metrics import Metrics
from hub.realtime.frames import Frame, events_between, frames_for
from hub.realtime.models import StreamState
from hub.realtime.protocol import CloseCode

log = logging.getLogger(__name__)
REGION_FIELDS = ("grid_id", "community_id", "township_id", "county_id", "city_id")
SEND_QUEUE_FRAMES = 2000  # per socket; a socket this far behind is closed, not waited for


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(eq=False)
class Connection:
    socket: Socket
    user: Principal
    queue: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(SEND_QUEUE_FRAMES))
    regions: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (tier, code)
    cases: set[int] = field(default_factory=set)
    departments: set[int] = field(default_factory=set)
    inbox: bool = False
    buffer: list[Frame] | None = None  # frames held back while a subscription catches up
    closed: bool = False
    pump: asyncio.Task[None] | None = None

    @property
    def kind(self) -> str:
        return self.user.role.value

    def wants(self, case: dict[str, Any]) -> bool:
        hit = (
            any(case.get(f) in self.regions for f in REGION_FIELDS)
            or case.get("id") in self.cases
            or case.get("department_id") in self.departments
            or (
                self.inbox
                and self.user.staff_id is not None
                and case.get("assigned_staff_id") == self.user.staff_id
            )
        )
        return hit and case_visible(self.user, case)


class Gateway:
    def __init__(self, db: Database, metrics: Metrics) -> None:
        self.db = db
        self.metrics = metrics
        self.connections: set[Connection] = set()
        self.last_seen = 0
        self.lock = asyncio.Lock()  # stream order: deliveries and subscription cut-overs
        self.dirty_regions: set[int] = set()
        self._event_frames = metrics.frames_sent.labels(type="event")

    async def start(self) -> None:
        async with self.db.read() as session:
            state = (await session.exec(select(StreamState))).first()
        # Live delivery starts at the head; anything older is served by replay from the DB.
        self.last_seen = state.last_position if state else 0

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)
        conn.pump = asyncio.create_task(self._pump(conn), name=f"ws-pump-{conn.user.username}")
        self.metrics.sockets.labels(kind=conn.kind).inc()

    def unregister(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.metrics.sockets.labels(kind=conn.kind).dec()
        conn.closed = True
        if conn.pump is not None:
            conn.pump.cancel()

    async def deliver(self, frames: list[Frame]) -> None:
        async with self.lock:
            for frame in sorted(frames, key=lambda f: f.position):
                if frame.position <= self.last_seen:
                    continue  # a duplicate (several relays, or a republish after an outage)
                if frame.position > self.last_seen + 1:
                    await self._backfill(self.last_seen, frame.position - 1)
                self._fanout(frame)
                self.last_seen = frame.position

    async def _backfill(self, after: int, upto: int) -> None:
        """Frames the bus skipped (a Redis restart, another process's relay racing ahead)
        are read back from the database, where every numbered event is."""
        while after < upto:
            async with self.db.read() as session:
                events = await events_between(session, after, upto)
                frames = await frames_for(session, events, _now())
            if not frames:
                log.error("positions %s..%s missing from the database", after + 1, upto)
                return
            for frame in frames:
                self._fanout(frame)
                self.last_seen = after = frame.position

    def _fanout(self, frame: Frame) -> None:
        for key in REGION_FIELDS:
            region_id = frame.case.get(key)
            if isinstance(region_id, int):
                self.dirty_regions.add(region_id)
        sent = 0
        for conn in list(self.connections):  # a send may close (and drop) a connection
            if conn.closed or not conn.wants(frame.case):
                continue
            if conn.buffer is not None:
                conn.buffer.append(frame)
            elif self._offer(conn, frame.text):
                sent += 1
        if sent:
            self._event_frames.inc(sent)  # once per frame, not once per socket

    def send(self, conn: Connection, text: str, kind: str) -> None:
        if self._offer(conn, text):
            self.metrics.frames_sent.labels(type=kind).inc()

    def _offer(self, conn: Connection, text: str) -> bool:
        if conn.closed:
            return False
        try:
            conn.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.metrics.slow_consumer_closes.inc()
            self.close(conn, CloseCode.SLOW_CONSUMER, "send queue full: reconnect with since")
            return False
        return True

    def close(self, conn: Connection, code: int, reason: str) -> None:
        if conn.closed:
            return
        self.unregister(conn)
        asyncio.get_running_loop().create_task(_close_quietly(conn.socket, code, reason))

    async def _pump(self, conn: Connection) -> None:
        try:
            while True:
                text = await conn.queue.get()
                await conn.socket.send_text(text)
        except asyncio.CancelledError:
            raise
        except Exception:
            self.unregister(conn)

    def subscribers_of(self, region_ids: Iterable[int]) -> dict[int, list[Connection]]:
        wanted = set(region_ids)
        found: dict[int, list[Connection]] = {}
        for conn in self.connections:
            for region_id in wanted.intersection(conn.regions):
                found.setdefault(region_id, []).append(conn)
        return found

    async def shutdown(self) -> None:
        for conn in list(self.connections):
            self.close(conn, CloseCode.SHUTDOWN, "server restarting: reconnect with since")
        await asyncio.sleep(0)


async def _close_quietly(socket: Socket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await socket.close(code=code, reason=reason)


def _now() -> datetime:
    return datetime.now(UTC)
