"""Wall counters for new subscriptions: computed once for many sockets subscribing at the
same time, sent to each new socket only, and equal to what the database says. Sockets kept
out of the collector's full passes, and reclaimed once closed."""

from __future__ import annotations

import asyncio
import gc
import json
import weakref

import httpx

from hub.auth.principal import load_principal
from hub.deps import Hub
from hub.enums import Tier
from hub.realtime.counters import region_counters
from hub.realtime.gateway import Connection
from hub.realtime.runtime import Realtime
from tests.helpers import Api, Auth
from tests.world import World


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        pass


async def test_walls_subscribing_together_share_one_counters_computation(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, world: World
) -> None:
    await Api(client, auth).create(category_code="T01")
    realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)
    county = world.region["339901"]
    async with hub.db.read() as session:
        wall = await load_principal(session, world.user["wall"], None)
    sockets = [FakeSocket() for _ in range(40)]
    conns = [Connection(s, wall) for s in sockets]
    for conn in conns:
        realtime.gateway.register(conn)
        realtime.gateway.watch(conn, region=(county, "county", "339901"))
    await asyncio.gather(*(realtime.send_counters(c, {county}) for c in conns))
    frames = [json.loads(t) for s in sockets for t in s.sent]
    assert len(frames) == len(sockets)  # one each: nobody got the others' counters
    # One computation for all of them: the same frame, down to its timestamp.
    assert len({json.dumps(f, sort_keys=True) for f in frames}) == 1
    async with hub.db.read() as session:
        truth = await region_counters(session, Tier.COUNTY, county, hub.clock.now())
    assert frames[0]["counters"] == truth and truth["open"] == 1
    # A change pushes fresh counters to every watcher (the 0.5 s loop does this).
    await Api(client, auth).create(category_code="T01")
    await realtime.push_counters({county})
    latest = [json.loads(s.sent[-1]) for s in sockets]
    assert all(f["counters"]["open"] == 2 for f in latest)
    for conn in conns:
        realtime.gateway.unregister(conn)


class CyclicSocket(FakeSocket):
    """A socket whose objects form a reference cycle, as real protocol objects do."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self


async def test_sockets_are_frozen_for_the_gc_in_batches_and_reclaimed_once_closed(
    hub: Hub, world: World
) -> None:
    realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)
    async with hub.db.read() as session:
        wall = await load_principal(session, world.user["wall"], None)
    realtime.gc_freeze_every = realtime.gc_reclaim_after = 50
    gc.unfreeze()
    try:
        conns = [Connection(CyclicSocket(), wall) for _ in range(49)]
        for conn in conns:
            realtime.gateway.register(conn)
        realtime.freeze_sockets()
        assert gc.get_freeze_count() == 0  # fewer than a batch: left to the collector
        conns.append(Connection(CyclicSocket(), wall))
        realtime.gateway.register(conns[-1])
        realtime.freeze_sockets()
        assert gc.get_freeze_count() > 0
        probe = weakref.ref(conns[0].socket)
        for conn in conns[:49]:
            realtime.gateway.unregister(conn)
        del conns[:49]
        gc.collect()
        realtime.freeze_sockets()
        assert probe() is not None  # frozen: a dead cycle stays until unfrozen
        realtime.gateway.unregister(conns.pop())
        realtime.freeze_sockets()  # 50 closed: unfreeze and collect
        assert probe() is None
    finally:
        gc.unfreeze()
