"""The gateway's topic index and its direct sends, with fake sockets and no database: the
index must pick exactly the sockets a scan of every socket would, stay exact through
subscribing and closing, and leave nothing behind; a socket that cannot take a frame at
once gets it later, in order, and then is sent to directly again."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.auth.principal import Principal
from hub.auth.scope import case_visible
from hub.clock import FrozenClock
from hub.db import Database
from hub.enums import Role
from hub.metrics import Metrics
from hub.realtime import gateway as gw
from hub.realtime.frames import Frame
from hub.realtime.gateway import Connection, Gateway
from hub.realtime.protocol import CloseCode
from hub.realtime.wire import RawSocket

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a frame's commit time: never read here

# A small region tree: city 1; counties 2, 3; two townships each; two grids per township
# (the community tier is skipped: a case names it, but nobody here watches it).
CITY = (1, "3399")
COUNTIES = {2: "339901", 3: "339902"}
TOWNSHIPS = {4: (2, "339901001"), 5: (2, "339901002"), 6: (3, "339902001"), 7: (3, "339902002")}
GRIDS = {100 + 2 * t + g: (t, f"{TOWNSHIPS[t][1]}00100{g}") for t in TOWNSHIPS for g in (0, 1)}
DEPARTMENTS = (31, 32, 33)
STAFF = (51, 52, 53, 54)


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate: asyncio.Event | None = None  # while set and not open, sends wait
        self.broken = False
        self.closed_with: int | None = None

    async def send_text(self, data: str) -> None:
        if self.broken:
            raise ConnectionResetError("gone")
        if self.gate is not None:
            await self.gate.wait()
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[Gateway]:
    # Never queried: no test here leaves a gap to backfill from the database.
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}")
    yield Gateway(db, Metrics(), FrozenClock(AT))
    await db.dispose()


def _region(region_id: int) -> tuple[int, str, str]:
    if region_id == CITY[0]:
        return (region_id, "city", CITY[1])
    if region_id in COUNTIES:
        return (region_id, "county", COUNTIES[region_id])
    if region_id in TOWNSHIPS:
        return (region_id, "township", TOWNSHIPS[region_id][1])
    return (region_id, "grid", GRIDS[region_id][1])


def _principal(rng: random.Random, n: int) -> Principal:
    role = rng.choice(
        [Role.ADMIN, Role.COMMANDER, Role.WALL, Role.DISPATCHER, Role.DEPT_STAFF, Role.GRID_WORKER]
    )
    where = rng.choice([CITY[0], *COUNTIES, *TOWNSHIPS])
    return Principal(
        user_id=n,
        username=f"u{n}",
        display_name=f"u{n}",
        role=role,
        region_id=where,
        region_code=_region(where)[2],
        department_id=rng.choice(DEPARTMENTS) if role is Role.DEPT_STAFF else None,
        staff_id=rng.choice(STAFF) if role in (Role.DEPT_STAFF, Role.GRID_WORKER) else None,
    )


def _watch_some(gateway: Gateway, conn: Connection, rng: random.Random) -> None:
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["region", "case", "department", "inbox"])
        if kind == "region":
            gateway.watch(
                conn, region=_region(rng.choice([CITY[0], *COUNTIES, *TOWNSHIPS, *GRIDS]))
            )
        elif kind == "case":
            gateway.watch(conn, case_id=rng.randint(1, 30))
        elif kind == "department":
            gateway.watch(conn, department_id=rng.choice(DEPARTMENTS))
        else:
            gateway.watch(conn, inbox=True)


def _case(rng: random.Random, case_id: int) -> dict[str, Any]:
    grid = rng.choice(list(GRIDS))
    township = GRIDS[grid][0]
    return {
        "id": case_id,
        "grid_id": grid,
        "community_id": 900 + township,
        "township_id": township,
        "county_id": TOWNSHIPS[township][0],
        "city_id": CITY[0],
        "department_id": rng.choice([None, *DEPARTMENTS]),
        "assigned_staff_id": rng.choice([None, *STAFF]),
    }


def _frame(position: int, case: dict[str, Any]) -> Frame:
    return Frame(position, case, f'{{"position":{position}}}', AT)


def _by_scan(gateway: Gateway, case: dict[str, Any]) -> set[Connection]:
    return {c for c in gateway.connections if c.wants(case)}


def _by_index(gateway: Gateway, case: dict[str, Any]) -> set[Connection]:
    return {c for c in gateway.topics.receivers(case) if case_visible(c.user, case)}


async def test_the_index_picks_exactly_the_sockets_a_full_scan_picks(gateway: Gateway) -> None:
    rng = random.Random(4)
    sockets: dict[Connection, FakeSocket] = {}
    for n in range(300):
        sock = FakeSocket()
        conn = Connection(sock, _principal(rng, n))
        sockets[conn] = sock
        gateway.register(conn)
        _watch_some(gateway, conn, rng)
    cases = [_case(rng, rng.randint(1, 30)) for _ in range(400)]
    assert any(_by_scan(gateway, c) for c in cases)
    for case in cases:
        assert _by_index(gateway, case) == _by_scan(gateway, case)
    # Delivered frames reach exactly those sockets, each once and in stream order.
    await gateway.deliver([_frame(p, c) for p, c in enumerate(cases, start=1)])
    for conn, sock in sockets.items():
        wanted = [f'{{"position":{p}}}' for p, c in enumerate(cases, start=1) if conn.wants(c)]
        assert sock.sent == wanted
    # Closing half and subscribing the rest to more keeps the index exact.
    conns = list(sockets)
    rng.shuffle(conns)
    for conn in conns[:150]:
        gateway.unregister(conn)
    for conn in conns[150:]:
        _watch_some(gateway, conn, rng)
    for case in cases:
        assert _by_index(gateway, case) == _by_scan(gateway, case)
    assert not any(c in conns[:150] for case in cases for c in gateway.topics.receivers(case))


async def test_closing_every_socket_leaves_the_index_empty(gateway: Gateway) -> None:
    rng = random.Random(5)
    conns = []
    for n in range(50):
        conn = Connection(FakeSocket(), _principal(rng, n))
        gateway.register(conn)
        _watch_some(gateway, conn, rng)
        _watch_some(gateway, conn, rng)  # a second subscribe adds topics (some repeated)
        conns.append(conn)
    expected = sum(
        len(c.regions)
        + len(c.cases)
        + len(c.departments)
        + (c.inbox and c.user.staff_id is not None)
        for c in conns
    )
    assert gateway.topics.size() == expected > 0
    for conn in conns:
        gateway.unregister(conn)
        gateway.unregister(conn)  # twice (a close racing a disconnect) is harmless
    assert gateway.topics.size() == 0
    t = gateway.topics
    assert t.regions == t.cases == t.departments == t.inboxes == {}
    assert not gateway.connections
    # A topic added to a socket already closed is not indexed.
    gateway.watch(conns[0], region=_region(CITY[0]), inbox=True)
    assert gateway.topics.size() == 0


async def test_a_socket_that_cannot_take_a_frame_gets_it_later_in_order(
    gateway: Gateway,
) -> None:
    admin = Principal(1, "admin", "admin", Role.ADMIN, None, None, None, None)
    sock = FakeSocket()
    conn = Connection(sock, admin)
    gateway.register(conn)
    gateway.watch(conn, region=_region(CITY[0]))
    case = {"id": 1, "city_id": CITY[0]}
    await gateway.deliver([_frame(1, case)])
    assert sock.sent == ['{"position":1}'] and conn.backlog is None  # sent at once
    sock.gate = asyncio.Event()  # the transport is full: sends now wait
    await gateway.deliver([_frame(p, case) for p in range(2, 6)])
    assert conn.backlog is not None and conn.pump is not None
    sock.gate.set()
    await asyncio.sleep(0.01)
    assert sock.sent == [f'{{"position":{p}}}' for p in range(1, 6)]
    assert conn.backlog is None and conn.pump is None  # caught up: direct sends again
    sock.gate = None
    await gateway.deliver([_frame(6, case)])
    assert sock.sent[-1] == '{"position":6}'
    gateway.unregister(conn)


async def test_a_backlog_past_its_bound_closes_the_socket_as_a_slow_consumer(
    gateway: Gateway,
) -> None:
    admin = Principal(1, "admin", "admin", Role.ADMIN, None, None, None, None)
    sock = FakeSocket()
    sock.gate = asyncio.Event()
    conn = Connection(sock, admin)
    gateway.register(conn)
    gateway.watch(conn, region=_region(CITY[0]))
    case = {"id": 1, "city_id": CITY[0]}
    # One send in flight plus SEND_QUEUE_FRAMES waiting fit; the one after does not.
    frames = [_frame(p, case) for p in range(1, gw.SEND_QUEUE_FRAMES + 3)]
    await gateway.deliver(frames[:-1])
    assert not conn.closed
    await gateway.deliver(frames[-1:])
    await asyncio.sleep(0)
    assert conn.closed and sock.closed_with == CloseCode.SLOW_CONSUMER
    assert gateway.topics.size() == 0


async def test_a_socket_that_fails_on_send_is_dropped(gateway: Gateway) -> None:
    admin = Principal(1, "admin", "admin", Role.ADMIN, None, None, None, None)
    broken, fine = FakeSocket(), FakeSocket()
    broken.broken = True
    for sock in (broken, fine):
        conn = Connection(sock, admin)
        gateway.register(conn)
        gateway.watch(conn, region=_region(CITY[0]))
    await gateway.deliver([_frame(1, {"id": 1, "city_id": CITY[0]})])
    assert fine.sent == ['{"position":1}']
    assert len(gateway.connections) == 1 and gateway.topics.size() == 1


class FakeRaw(RawSocket):
    """A direct writer that records each write's bytes; `paused` makes it refuse."""

    __slots__ = ("paused", "writes")

    def __init__(self) -> None:
        super().__init__(None)
        self.writes: list[bytes] = []
        self.paused = False

    def write(self, wire: bytes) -> bool:
        if self.paused:
            return False
        self.writes.append(wire)
        return True


async def test_a_batch_goes_out_as_its_first_frame_then_the_rest_in_one_write(
    gateway: Gateway,
) -> None:
    admin = Principal(1, "admin", "admin", Role.ADMIN, None, None, None, None)
    conns = [Connection(FakeSocket(), admin, raw=FakeRaw()) for _ in range(3)]
    for conn in conns:
        gateway.register(conn)
        gateway.watch(conn, region=_region(CITY[0]))
    frames = [_frame(p, {"id": 1, "city_id": CITY[0]}) for p in (1, 2, 3)]
    await gateway.deliver(frames)
    wires = [f.wire for f in frames]
    for conn in conns:
        assert isinstance(conn.raw, FakeRaw) and isinstance(conn.socket, FakeSocket)
        assert conn.raw.writes == [wires[0], wires[1] + wires[2]]
        assert conn.socket.sent == []  # nothing through the ordinary send
    # Sockets with the same frames share one joined buffer rather than a copy each.
    tails = {id(c.raw.writes[1]) for c in conns if isinstance(c.raw, FakeRaw)}
    assert len(tails) == 1
    # A paused socket gets the same frames through the ordinary path, in order.
    raw = conns[0].raw
    assert isinstance(raw, FakeRaw)
    raw.paused = True
    await gateway.deliver([_frame(p, {"id": 1, "city_id": CITY[0]}) for p in (4, 5)])
    assert conns[0].socket.sent == ['{"position":4}', '{"position":5}']  # type: ignore[attr-defined]
    for conn in conns:
        gateway.unregister(conn)


async def test_between_events_returns_after_the_next_fan_out_or_the_timeout(
    gateway: Gateway,
) -> None:
    waiting = asyncio.create_task(gateway.between_events(5.0))
    await asyncio.sleep(0.01)
    assert not waiting.done()  # no delivery yet
    await gateway.deliver([_frame(1, {"id": 1, "city_id": CITY[0]})])
    await asyncio.wait_for(waiting, 1.0)  # released by the fan-out, long before 5 s
    started = asyncio.get_running_loop().time()
    await gateway.between_events(0.05)  # nothing delivered: the timeout ends the wait
    assert asyncio.get_running_loop().time() - started >= 0.05
    assert gateway._after_fanout == []  # no waiter left behind
