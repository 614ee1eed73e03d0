"""Two hub processes on one database and a real redis-server: a case created through hub A
reaches a subscriber on hub B; Redis killed and restarted mid-run loses nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest

from hub.auth.security import issue_token
from tests.conftest import SECRET
from tests.helpers import GRID
from tests.live import ws_client
from tests.procs import HubProcess, RedisServer
from tests.world import World


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def hubs(db_url: str, redis_server: RedisServer) -> Iterator[tuple[HubProcess, HubProcess]]:
    env = {
        "HUB_DATABASE_URL": db_url,
        "HUB_BUS_URL": redis_server.url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",
    }
    a, b = HubProcess(env), HubProcess(env)
    a.start()
    b.start()
    yield a, b
    a.stop()
    b.stop()


def _token(world: World, user: str) -> str:
    return issue_token(
        user_id=world.user[user],
        token_version=0,
        secret=SECRET,
        now=datetime.now(UTC),  # wall-clock: the hub processes run on the real clock
        ttl_s=600,
        kind="access",
    )


async def test_across_processes_and_through_a_redis_restart(
    hubs: tuple[HubProcess, HubProcess], redis_server: RedisServer, world: World
) -> None:
    a, b = hubs
    headers = {"Authorization": f"Bearer {_token(world, 'dispatcher')}"}
    body = {"title": "跨进程", "grid_code": GRID, "category_code": "T01"}
    async with (
        ws_client(b.addr, _token(world, "dispatcher")) as sub,
        httpx.AsyncClient(base_url=f"http://{a.addr}") as api,
    ):
        await sub.send({"type": "subscribe", "topics": [{"kind": "region", "key": "339901001"}]})
        await sub.until(lambda f: f["type"] == "snapshot")
        first = (await api.post("/api/v1/cases", json=body, headers=headers)).json()
        await sub.until(
            lambda f: (
                f["type"] == "event"
                and f["case"]["id"] == first["id"]
                and f["event"]["type"] == "dispatched"
            ),
            timeout_s=10,
        )

        redis_server.kill()
        during = []
        for _ in range(5):
            r = await api.post("/api/v1/cases", json=body, headers=headers)
            assert r.status_code == 201  # the hub keeps taking cases without its bus
            during.append(r.json()["id"])
        await asyncio.sleep(1.5)
        health = (await api.get("/healthz")).json()
        assert health["status"] == "degraded" and health["bus"] == "unavailable"

        redis_server.start()  # same port, empty: nothing survives in Redis itself
        wanted = {(cid, seq) for cid in during for seq in (1, 2)}
        deadline = asyncio.get_running_loop().time() + 20
        while wanted - {(f["case"]["id"], f["event"]["seq"]) for f in sub.events()}:
            assert asyncio.get_running_loop().time() < deadline, "events lost"
            await sub.recv(timeout_s=20)
        await sub.drain(0.5)
        positions = [f["position"] for f in sub.events()]
        assert positions == sorted(positions) and len(positions) == len(set(positions))
        assert (await api.get("/healthz")).json()["status"] == "ok"
