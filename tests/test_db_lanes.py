"""Client reads cannot starve background work: with every client connection held, a
client read is refused after its bounded wait (503 `busy` over REST), while the timers
fire and the relay publishes what they wrote, on connections of their own."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import timedelta

import httpx

from hub.auth.principal import load_principal
from hub.clock import FrozenClock
from hub.db import Busy, background_work, socket_work
from hub.deps import Hub
from hub.realtime.gateway import Connection
from hub.realtime.runtime import Realtime
from hub.sla.engine import SlaEngine
from tests.helpers import Api, Auth
from tests.world import World


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        pass


async def hold_client_reads(
    hub: Hub, release: asyncio.Event, n: int
) -> tuple[list[BaseException | None], list[asyncio.Task[None]]]:
    """Open `n` client reads at once and keep those that got a connection until `release`."""
    holding = 0
    settled = asyncio.Event()  # every task holds a connection or has been refused

    def check(_task: object = None) -> None:
        if holding + sum(t.done() for t in tasks) == n:
            settled.set()

    async def hold() -> None:
        nonlocal holding
        async with hub.db.read() as session:
            await session.connection()
            holding += 1
            check()
            await release.wait()

    tasks = [asyncio.create_task(hold()) for _ in range(n)]
    for task in tasks:
        task.add_done_callback(check)
    async with asyncio.timeout(60):  # opening connections is slow on a loaded machine
        await settled.wait()
    assert holding > 0
    return [t.exception() if t.done() else None for t in tasks], tasks


async def test_timers_and_relay_progress_while_client_reads_are_exhausted(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, world: World, clock: FrozenClock
) -> None:
    api = Api(client, auth)
    case = await api.create(category_code="T01")
    assert case["state"] == "dispatched"
    realtime = hub.realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock)
    await realtime.start()
    async with hub.db.read() as session:
        wall = await load_principal(session, world.user["wall"], None)
    socket = FakeSocket()
    conn = Connection(socket, wall)
    realtime.gateway.register(conn)
    realtime.gateway.watch(conn, region=(world.region["339901"], "county", "339901"))
    engine = hub.sla = SlaEngine(hub)
    with background_work():
        await engine.start()
    hub.db.client_wait_s = 0.3
    release = asyncio.Event()
    holders: list[asyncio.Task[None]] = []
    try:
        refused, holders = await hold_client_reads(hub, release, 60)
        assert any(isinstance(e, Busy) for e in refused)  # more asked than the pool holds
        # A client read now waits its bounded time, then is refused: never a pool timeout.
        started = asyncio.get_running_loop().time()
        with contextlib.suppress(Busy):
            async with hub.db.read():
                raise AssertionError("a client read got a connection from a full pool")
        assert asyncio.get_running_loop().time() - started < 5.0  # 0.3 s, on a busy machine
        r = await client.get("/api/v1/cases", headers=auth("admin"))
        assert r.status_code == 503 and r.json()["error"] == "busy", r.text
        # The deadlines fall due: the timers fire them and the relay publishes their events.
        clock.advance(timedelta(days=40))
        engine.poke()
        for _ in range(300):
            types = [
                f["event"]["type"]
                for f in map(json.loads, socket.sent)
                if f["type"] == "event" and f["case"]["id"] == case["id"]
            ]
            if any(t.startswith("sla_") for t in types):
                break
            await asyncio.sleep(0.1)
        else:
            raise AssertionError(f"no escalation published while reads were held: {types}")
        with background_work():
            async with hub.db.transaction():
                pass  # background transactions too
    finally:
        release.set()
        await asyncio.gather(*holders, return_exceptions=True)
        await engine.stop()
        hub.sla = None
        await realtime.stop()
        hub.realtime = None


async def test_sockets_hold_at_most_half_the_client_connections(hub: Hub) -> None:
    hub.db.client_wait_s = 0.3
    release = asyncio.Event()
    with socket_work():
        refused, holders = await hold_client_reads(hub, release, 60)
    assert any(isinstance(e, Busy) for e in refused)
    try:
        async with hub.db.read() as session:  # a request still finds a connection
            await session.connection()
    finally:
        release.set()
        await asyncio.gather(*holders, return_exceptions=True)
