"""Fan-out of positioned frames to this process's sockets, in stream order, gap-free."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import types
from collections import deque
from collections.abc import Awaitable, Coroutine, Generator, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from prometheus_client import Counter
from sqlmodel import select

from hub.auth.principal import Principal
from hub.auth.scope import case_visible
from hub.clock import Clock
from hub.db import Database
from hub.metrics import Metrics
from hub.realtime.frames import Frame, events_between, frames_for
from hub.realtime.models import StreamState
from hub.realtime.protocol import CloseCode
from hub.realtime.snapshots import Snapshot
from hub.realtime.wire import RawSocket

log = logging.getLogger(__name__)
REGION_FIELDS = ("grid_id", "community_id", "township_id", "county_id", "city_id")
SEND_QUEUE_FRAMES = 2000  # per socket; a socket this far behind is closed, not waited for
# Snapshot bytes written per turn of the event loop. Writing to a local socket copies into
# the kernel at once: a thousand walls' snapshots written in one turn held the loop, and
# every live event behind it, for seconds. Past this, the rest wait for the next turn.
SNAPSHOT_BYTES_PER_TURN = 4 * 1024 * 1024


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int = 1000, reason: str | None = None) -> None: ...


@dataclass(eq=False, slots=True)
class Connection:
    socket: Socket
    user: Principal
    # What it watches, as indexed by the gateway (`Gateway.watch`); change it only there.
    regions: dict[int, tuple[str, str]] = field(default_factory=dict)  # id -> (tier, code)
    cases: set[int] = field(default_factory=set)
    departments: set[int] = field(default_factory=set)
    inbox: bool = False
    buffer: list[Frame] | None = None  # frames held back while a subscription catches up
    closed: bool = False
    # Frames waiting behind a send the socket could not take at once (its transport's
    # buffer was full); None while the socket keeps up, which is nearly always.
    backlog: deque[str] | None = None
    pump: asyncio.Task[None] | None = None
    # Writes prepared frames past ASGI when the server allows it (hub/realtime/wire.py).
    raw: RawSocket | None = None

    @property
    def kind(self) -> str:
        return self.user.role.value

    def wants(self, case: dict[str, Any]) -> bool:
        """The same rule as the gateway's index, for one socket (replays use it)."""
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


class Topics:
    """Sockets by what they watch, so a frame touches only the sockets it may concern
    (a few dozen of thousands), not every socket."""

    def __init__(self) -> None:
        self.regions: dict[int, set[Connection]] = {}
        self.cases: dict[int, set[Connection]] = {}
        self.departments: dict[int, set[Connection]] = {}
        self.inboxes: dict[int, set[Connection]] = {}  # staff id -> that person's sockets

    def add(self, index: dict[int, set[Connection]], key: int, conn: Connection) -> None:
        index.setdefault(key, set()).add(conn)

    def drop(self, conn: Connection) -> None:
        _remove(self.regions, conn.regions, conn)
        _remove(self.cases, conn.cases, conn)
        _remove(self.departments, conn.departments, conn)
        if conn.inbox and conn.user.staff_id is not None:
            _remove(self.inboxes, (conn.user.staff_id,), conn)

    def receivers(self, case: dict[str, Any]) -> set[Connection]:
        """Sockets watching the case by any of its topics (not yet checked for scope)."""
        found: set[Connection] = set()
        for index, key in (
            *((self.regions, case.get(f)) for f in REGION_FIELDS),
            (self.cases, case.get("id")),
            (self.departments, case.get("department_id")),
            (self.inboxes, case.get("assigned_staff_id")),
        ):
            conns = index.get(key) if key is not None else None
            if conns:
                found |= conns
        return found

    def size(self) -> int:
        """Index entries (socket, topic) in all: for tests that nothing leaks."""
        indexes = (self.regions, self.cases, self.departments, self.inboxes)
        return sum(len(conns) for index in indexes for conns in index.values())


def _remove(index: dict[int, set[Connection]], keys: Iterable[int], conn: Connection) -> None:
    for key in keys:
        conns = index.get(key)
        if conns is not None:
            conns.discard(conn)
            if not conns:
                del index[key]


class Gateway:
    def __init__(self, db: Database, metrics: Metrics, clock: Clock) -> None:
        self.clock = clock
        self.db = db
        self.metrics = metrics
        self.connections: set[Connection] = set()
        self.topics = Topics()
        self.last_seen = 0
        # Stream order between deliveries. A delivery may pause (reading a gap back) only
        # when every frame up to `last_seen` has been fanned out: subscription cut-overs
        # rely on that instead of taking this lock (hub/realtime/session.py).
        self.lock = asyncio.Lock()
        self.dirty_regions: set[int] = set()
        # Sockets ever registered and unregistered (the service freezes them for the GC).
        self.registered = 0
        self.unregistered = 0
        self._sent: dict[str, Counter] = {}
        self._after_fanout: list[asyncio.Future[None]] = []  # see between_events
        self._turn_bytes = 0  # snapshot bytes written in this turn of the loop
        self._turn_over: asyncio.Future[None] | None = None  # resolved at the next turn

    async def start(self) -> None:
        async with self.db.read() as session:
            state = (await session.exec(select(StreamState))).first()
        # Live delivery starts at the head; anything older is served by replay from the DB.
        self.last_seen = state.last_position if state else 0

    def register(self, conn: Connection) -> None:
        self.connections.add(conn)
        self.registered += 1
        self.metrics.sockets.labels(kind=conn.kind).inc()

    def unregister(self, conn: Connection) -> None:
        if conn in self.connections:
            self.connections.discard(conn)
            self.topics.drop(conn)
            self.unregistered += 1
            self.metrics.sockets.labels(kind=conn.kind).dec()
        conn.closed = True
        conn.backlog = None
        if conn.pump is not None:
            conn.pump.cancel()

    def watch(
        self,
        conn: Connection,
        *,
        region: tuple[int, str, str] | None = None,  # (id, tier, code)
        case_id: int | None = None,
        department_id: int | None = None,
        inbox: bool = False,
    ) -> None:
        """Add a topic to a registered socket (call under `lock`, as the cut-over does)."""
        if conn.closed:
            return
        if region is not None:
            conn.regions[region[0]] = (region[1], region[2])
            self.topics.add(self.topics.regions, region[0], conn)
        if case_id is not None:
            conn.cases.add(case_id)
            self.topics.add(self.topics.cases, case_id, conn)
        if department_id is not None:
            conn.departments.add(department_id)
            self.topics.add(self.topics.departments, department_id, conn)
        if inbox and conn.user.staff_id is not None:
            conn.inbox = True
            self.topics.add(self.topics.inboxes, conn.user.staff_id, conn)

    def unwatch(
        self,
        conn: Connection,
        *,
        region_id: int | None = None,
        case_id: int | None = None,
        department_id: int | None = None,
        inbox: bool = False,
    ) -> None:
        """Drop topics added by `watch` (a subscription that could not be completed)."""
        if region_id is not None and conn.regions.pop(region_id, None) is not None:
            _remove(self.topics.regions, (region_id,), conn)
        if case_id is not None and case_id in conn.cases:
            conn.cases.discard(case_id)
            _remove(self.topics.cases, (case_id,), conn)
        if department_id is not None and department_id in conn.departments:
            conn.departments.discard(department_id)
            _remove(self.topics.departments, (department_id,), conn)
        if inbox and conn.inbox and conn.user.staff_id is not None:
            conn.inbox = False
            _remove(self.topics.inboxes, (conn.user.staff_id,), conn)

    async def deliver(self, frames: list[Frame]) -> None:
        async with self.lock:
            fresh: list[Frame] = []
            for frame in sorted(frames, key=lambda f: f.position):
                if frame.position <= self.last_seen:
                    continue  # a duplicate (several relays, or a republish after an outage)
                if frame.position > self.last_seen + 1:
                    self._fanout(fresh)  # what precedes the gap goes out first
                    fresh = []
                    await self._backfill(self.last_seen, frame.position - 1)
                fresh.append(frame)
                self.last_seen = frame.position
            self._fanout(fresh)
            for waiter in self._after_fanout:
                if not waiter.done():
                    waiter.set_result(None)
            self._after_fanout.clear()

    async def between_events(self, timeout_s: float) -> None:
        """Return right after the next delivery has been fanned out (or after `timeout_s`
        without one): the moment when sockets, and the screens behind them, are furthest
        from the next event. Bulk sends such as counters go then, not into an event."""
        waiter = asyncio.get_running_loop().create_future()
        self._after_fanout.append(waiter)
        try:
            async with asyncio.timeout(timeout_s):
                await waiter
        except TimeoutError:
            pass
        finally:
            if waiter in self._after_fanout:
                self._after_fanout.remove(waiter)

    async def _backfill(self, after: int, upto: int) -> None:
        """Frames the bus skipped (a Redis restart, another process's relay racing ahead)
        are read back from the database, where every numbered event is."""
        while after < upto:
            async with self.db.read() as session:
                events = await events_between(session, after, upto)
                frames = await frames_for(session, events, self.clock.now())
            if not frames:
                log.error("positions %s..%s missing from the database", after + 1, upto)
                return
            self._fanout(frames)
            self.last_seen = after = frames[-1].position

    def _fanout(self, frames: list[Frame]) -> None:
        """At most two writes per socket for a batch however many frames it holds: a write
        per frame per socket is most of what a broadcast costs (a system call each, and a
        wake-up of the reader), so under load, when the relay hands over many frames at
        once, each socket gets its share in one go."""
        batches: dict[Connection, list[Frame]] = {}
        for frame in frames:
            case = frame.case
            for key in REGION_FIELDS:
                region_id = case.get(key)
                if isinstance(region_id, int):
                    self.dirty_regions.add(region_id)
            for conn in self.topics.receivers(case):  # a copy: a send may drop one
                if conn.closed or not case_visible(conn.user, case):
                    continue
                if conn.buffer is not None:
                    conn.buffer.append(frame)
                elif (batch := batches.get(conn)) is None:
                    batches[conn] = [frame]
                else:
                    batch.append(frame)
        # Each socket's first frame of the batch goes to every socket first: the head of the
        # batch (a new case's `created`) reaches every screen as soon as it can; the rest
        # follows in one write per socket.
        sent = 0
        for conn, batch in batches.items():
            sent += self._offer(conn, batch[0].text, batch[0].wire)
        joined: dict[tuple[int, ...], bytes] = {}  # sockets with the same frames share bytes
        for conn, batch in batches.items():
            if len(batch) > 1:
                sent += self._offer_batch(conn, batch[1:], joined)
        if sent:
            self._counter("event").inc(sent)  # once per batch, not once per socket

    def _offer_batch(
        self, conn: Connection, batch: list[Frame], joined: dict[tuple[int, ...], bytes]
    ) -> int:
        if conn.raw is not None and conn.backlog is None and not conn.closed:
            positions = tuple(f.position for f in batch)
            wire = joined.get(positions)
            if wire is None:
                wire = joined[positions] = b"".join(f.wire for f in batch)
            if conn.raw.write(wire):
                return len(batch)
        # No direct writer, or paused or closing: the ordinary path, frame by frame.
        return sum(self._offer(conn, f.text) for f in batch)

    def send(self, conn: Connection, text: str, kind: str, wire: bytes | None = None) -> None:
        if self._offer(conn, text, wire):
            self._counter(kind).inc()

    async def send_snapshot(self, conn: Connection, snapshot: Snapshot, position: int) -> None:
        """A shared snapshot at `conn`'s cut-over position: its large body, encoded once,
        is written to the socket as is; only the few bytes before it are the socket's own."""
        loop = asyncio.get_running_loop()
        while self._turn_bytes >= SNAPSHOT_BYTES_PER_TURN:
            if self._turn_over is None:
                self._turn_over = loop.create_future()
            await asyncio.shield(self._turn_over)
        if conn.closed:
            return
        if self._turn_bytes == 0:
            loop.call_soon(self._next_turn)
        self._turn_bytes += len(snapshot.body)
        raw = conn.raw
        if conn.backlog is None and raw is not None and raw.write_parts(*snapshot.wire(position)):
            self._counter("snapshot").inc()
            return
        self.send(conn, snapshot.text(position), "snapshot")

    def _next_turn(self) -> None:
        self._turn_bytes = 0
        if self._turn_over is not None:
            self._turn_over.set_result(None)
            self._turn_over = None

    def _counter(self, kind: str) -> Counter:
        counter = self._sent.get(kind)
        if counter is None:
            counter = self._sent[kind] = self.metrics.frames_sent.labels(type=kind)
        return counter

    def _offer(self, conn: Connection, text: str, wire: bytes | None = None) -> bool:
        """Send now if the socket takes it at once (the usual case: the bytes go to the
        transport without a task switch); otherwise queue it behind, up to a bound. With
        `wire` (the frame already framed) a socket that allows it gets those bytes directly."""
        if conn.closed:
            return False
        if (
            conn.backlog is None
            and wire is not None
            and conn.raw is not None
            and conn.raw.write(wire)
        ):
            return True  # else paused or closing: the ordinary send waits or fails
        if conn.backlog is not None:
            if len(conn.backlog) >= SEND_QUEUE_FRAMES:
                self.metrics.slow_consumer_closes.inc()
                self.close(conn, CloseCode.SLOW_CONSUMER, "send queue full: reconnect with since")
                return False
            conn.backlog.append(text)
            return True
        sending = conn.socket.send_text(text)
        try:
            blocked = sending.send(None)
        except StopIteration:
            return True
        except Exception:
            self.unregister(conn)  # the socket is gone; its handler sees the disconnect
            return False
        # The send waits for the transport to drain: it and whatever follows go through a
        # task, in order, while the backlog stays bounded.
        conn.backlog = deque()
        conn.pump = asyncio.create_task(self._pump(conn, _finish(sending, blocked)))
        return True

    def close(self, conn: Connection, code: int, reason: str) -> None:
        if conn.closed:
            return
        self.unregister(conn)
        asyncio.get_running_loop().create_task(_close_quietly(conn.socket, code, reason))

    async def _pump(self, conn: Connection, started: Awaitable[None]) -> None:
        try:
            await started
            while conn.backlog:
                await conn.socket.send_text(conn.backlog.popleft())
        except asyncio.CancelledError:
            raise
        except Exception:
            self.unregister(conn)
            return
        conn.backlog = None  # caught up: the next frame is sent directly again
        conn.pump = None

    def subscribers_of(self, region_ids: Iterable[int]) -> dict[int, list[Connection]]:
        found: dict[int, list[Connection]] = {}
        for region_id in region_ids:
            conns = self.topics.regions.get(region_id)
            if conns:
                found[region_id] = list(conns)
        return found

    async def shutdown(self, wait_s: float = 2.0) -> None:
        """Close every socket with 4010 (clients reconnect, to another replica behind the
        proxy, and resume with `since`), waiting up to `wait_s` for the close frames to go."""
        closing = [
            asyncio.create_task(_close_quietly(conn.socket, CloseCode.SHUTDOWN, SHUTDOWN_REASON))
            for conn in list(self.connections)
            if not conn.closed
        ]
        for conn in list(self.connections):
            self.unregister(conn)
        if closing:
            await asyncio.wait(closing, timeout=wait_s)


SHUTDOWN_REASON = "server restarting: reconnect with since"


@types.coroutine
def _finish(sending: Coroutine[Any, Any, None], blocked: Any) -> Generator[Any, None, None]:
    """Resume a send that was started outside a task and suspended on `blocked` (the
    future it awaits): the task waits for that future, then drives the send to its end."""
    try:
        yield blocked
    except BaseException:
        sending.close()
        raise
    yield from sending


async def _close_quietly(socket: Socket, code: int, reason: str) -> None:
    with contextlib.suppress(Exception):
        await socket.close(code=code, reason=reason)
