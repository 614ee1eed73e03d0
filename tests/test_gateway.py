"""Gateway internals with fake sockets: backpressure, ordering, dedupe, gap backfill; and
the in-memory scope predicate against the SQL one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
from sqlmodel import select

from hub.auth.principal import load_principal
from hub.auth.scope import case_scope, case_visible
from hub.cases.models import Case
from hub.cases.queries import case_view
from hub.deps import Hub
from hub.realtime import gateway as gw
from hub.realtime.frames import Frame
from hub.realtime.gateway import Connection, Gateway
from hub.realtime.protocol import CloseCode
from tests.helpers import Api, Auth
from tests.live import serve, ws_client
from tests.world import World

AT = datetime(2026, 11, 23, 1, 0, tzinfo=UTC)  # a frame's commit time: never read here


class FakeSocket:
    def __init__(self, *, stuck: bool = False) -> None:
        self.sent: list[str] = []
        self.stuck = stuck
        self.closed_with: int | None = None

    async def send_text(self, data: str) -> None:
        if self.stuck:
            await asyncio.Event().wait()
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closed_with = code


def _frame(position: int, township_id: int) -> Frame:
    case = {"id": position, "township_id": township_id, "county_id": 1, "city_id": 1}
    return Frame(position, case, f'{{"position": {position}}}', AT)


async def test_a_slow_socket_is_closed_without_holding_up_the_others(
    hub: Hub, world: World
) -> None:
    gateway = Gateway(hub.db, hub.metrics, hub.clock)
    async with hub.db.read() as session:
        admin = await load_principal(session, world.user["admin"], None)
    slow, fast = FakeSocket(stuck=True), FakeSocket()
    slow_conn, fast_conn = Connection(slow, admin), Connection(fast, admin)
    for conn in (slow_conn, fast_conn):
        gateway.register(conn)
        gateway.watch(conn, region=(7, "township", "x"))
    frames = [_frame(p, 7) for p in range(1, gw.SEND_QUEUE_FRAMES + 50)]
    for start in range(0, len(frames), 100):  # batches, as the relay and the bus deliver
        await gateway.deliver(frames[start : start + 100])
        await asyncio.sleep(0.001)
    await asyncio.sleep(0.05)
    assert slow.closed_with == CloseCode.SLOW_CONSUMER
    assert slow_conn not in gateway.connections
    assert len(fast.sent) == len(frames)
    assert hub.metrics.slow_consumer_closes._value.get() == 1
    # Duplicates (several relays, a republish) are dropped by position.
    await gateway.deliver(frames[:10])
    await asyncio.sleep(0.01)
    assert len(fast.sent) == len(frames)
    gateway.unregister(fast_conn)


async def test_scope_predicate_matches_the_sql(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, world: World
) -> None:
    api = Api(client, auth)
    for grid, category in (
        ("339901001001001", "C02"),
        ("339901001001002", "T01"),
        ("339901002001001", "C02"),
        ("339902001001001", "C02"),
        ("339901001001001", None),
    ):
        await api.create(user="admin", grid_code=grid, category_code=category)
    now = hub.clock.now()
    async with hub.db.read() as session:
        cases = (await session.exec(select(Case))).all()
        for user_id in world.user.values():
            user = await load_principal(session, user_id, None)
            by_sql = {
                c.id for c in (await session.exec(select(Case).where(case_scope(user)))).all()
            }
            by_memory = {c.id for c in cases if case_visible(user, case_view(c, now))}
            assert by_sql == by_memory, user.username


async def test_events_committed_while_no_relay_ran_are_published_on_start(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    """The process died after commit, before publishing: the next one publishes."""
    api = Api(client, auth)  # in-process client: no lifespan, so no relay runs
    made = [await api.create(category_code="T01") for _ in range(3)]
    async with serve(hub) as addr:
        token = auth("dispatcher")["Authorization"].split()[1]
        async with ws_client(addr, token) as c:
            await c.send(
                {
                    "type": "subscribe",
                    "since": 0,
                    "topics": [{"kind": "region", "key": "339901001"}],
                }
            )
            got = await c.drain(1.0)
    events = [(f["case"]["id"], f["event"]["seq"]) for f in got if f["type"] == "event"]
    assert sorted(events) == sorted((m["id"], s) for m in made for s in (1, 2))
    assert len(events) == len(set(events))
