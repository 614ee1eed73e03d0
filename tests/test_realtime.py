"""The websocket gateway end to end: a real server, real sockets, both databases."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from hub.deps import Hub
from hub.realtime.snapshots import SUMMARY_FIELDS
from tests.helpers import GRID, Api, Auth
from tests.live import Client, serve, ws_client
from tests.world import World

WEST_GRID = "339901002001001"
SOUTH_GRID = "339902001001001"


@pytest.fixture
async def live(hub: Hub) -> AsyncIterator[str]:
    async with serve(hub) as addr:
        yield addr


@pytest.fixture
async def rest(live: str, auth: Auth) -> AsyncIterator[Api]:
    async with httpx.AsyncClient(base_url=f"http://{live}") as client:
        yield Api(client, auth)


def token(auth: Auth, user: str) -> str:
    return auth(user)["Authorization"].split()[1]


def is_event_of(case_id: int, type_: str | None = None) -> Callable[[dict[str, Any]], bool]:
    return lambda f: (
        f["type"] == "event"
        and f["case"]["id"] == case_id
        and (type_ is None or f["event"]["type"] == type_)
    )


async def test_auth_is_the_first_message(live: str, auth: Auth) -> None:
    async with ws_client(live, None) as c:
        await c.send({"type": "auth", "token": "forged"})
        with pytest.raises(ConnectionClosed) as info:
            await c.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001
    async with ws_client(live, None) as c:
        await c.send({"type": "subscribe", "topics": [{"kind": "inbox"}]})
        with pytest.raises(ConnectionClosed) as info:
            await c.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 4001


async def test_bad_frames_get_errors_or_a_policy_close(live: str, auth: Auth) -> None:
    async with ws_client(live, token(auth, "wall")) as c:
        await c.ws.send("{not json")
        assert (await c.recv())["code"] == "bad_message"
        await c.send({"type": "subscribe", "topics": [{"kind": "galaxy"}]})
        assert (await c.recv())["code"] == "bad_message"
        await c.send({"type": "subscribe", "topics": [{"kind": "case", "key": "9" * 15}]})
        assert (await c.recv())["code"] == "not_found"  # too large to be an id: no 500
        await c.send({"type": "ping", "nonce": "n1"})
        assert (await c.recv())["nonce"] == "n1"
        await c.ws.send(b"\x00binary")
        with pytest.raises(ConnectionClosed) as info:
            await c.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code == 1008
    async with ws_client(live, token(auth, "wall")) as c:
        await c.ws.send("x" * (70 * 1024))
        with pytest.raises(ConnectionClosed) as info:
            await c.recv()
        assert info.value.rcvd is not None and info.value.rcvd.code in (1008, 1009)


async def test_origin_allowlist_applies_to_the_handshake(live: str, auth: Auth) -> None:
    with pytest.raises(Exception, match=r"403|rejected"):
        async with ws_client(live, token(auth, "wall"), origin="https://evil.example.com"):
            pass
    async with ws_client(live, token(auth, "wall"), origin=f"http://{live}") as c:
        await c.send({"type": "ping"})
        assert (await c.recv())["type"] == "pong"


async def test_county_wall_gets_every_township_and_nothing_else(
    live: str, rest: Api, auth: Auth
) -> None:
    async with (
        ws_client(live, token(auth, "wall")) as wall,
        ws_client(live, token(auth, "dispatcher_south")) as south,
    ):
        await wall.send({"type": "subscribe", "topics": [{"kind": "region", "key": "339901"}]})
        assert (await wall.recv())["mode"] == "snapshot"
        assert (await wall.until(lambda f: f["type"] == "snapshot"))["cases"] == []
        await south.send({"type": "subscribe", "topics": [{"kind": "region", "key": "339901"}]})
        assert (await south.recv())["code"] == "not_found"  # outside its scope: as if absent
        await south.send({"type": "subscribe", "topics": [{"kind": "region", "key": "339902001"}]})
        await south.until(lambda f: f["type"] == "snapshot")
        east = await rest.create(user="admin", category_code="T01", grid_code=GRID)
        west = await rest.create(user="admin", category_code="C02", grid_code=WEST_GRID)
        south_case = await rest.create(user="admin", category_code="C02", grid_code=SOUTH_GRID)
        await wall.until(is_event_of(west["id"], "dispatched"))
        await south.until(is_event_of(south_case["id"], "dispatched"))
        await asyncio.sleep(0.3)
        await wall.drain()
        await south.drain()
        wall_cases = {f["case"]["id"] for f in wall.events()}
        south_cases = {f["case"]["id"] for f in south.events()}
        assert wall_cases == {east["id"], west["id"]}
        assert south_cases == {south_case["id"]}
        positions = [f["position"] for f in wall.events()]
        assert positions == sorted(positions) and len(set(positions)) == len(positions)
        # Counters go out up to 0.75 s after the last event (the 0.5 s loop, then a wait
        # for a gap between events): wait for them rather than for a fixed time.
        if not [f for f in wall.seen if f["type"] == "counters" and f["counters"]["open"] == 2]:
            await wall.until(lambda f: f["type"] == "counters" and f["counters"]["open"] == 2)


async def test_resume_delivers_exactly_the_missed_events(live: str, rest: Api, auth: Auth) -> None:
    topics = [{"kind": "region", "key": "339901001"}]
    async with ws_client(live, token(auth, "dispatcher")) as c:
        await c.send({"type": "subscribe", "topics": topics})
        await c.until(lambda f: f["type"] == "snapshot")
        first = await rest.create(category_code="T01")
        await c.until(is_event_of(first["id"], "dispatched"))
        last = c.events()[-1]["position"]
        before = [f["position"] for f in c.events()]
    missed = [await rest.create(category_code="T01") for _ in range(3)]
    missed[0] = await rest.act("admin", missed[0], "acknowledge")
    other = await rest.create(user="admin", category_code="C02", grid_code=SOUTH_GRID)
    await asyncio.sleep(0.3)
    async with ws_client(live, token(auth, "dispatcher")) as c:
        await c.send({"type": "subscribe", "topics": topics, "since": last})
        assert (await c.recv())["mode"] == "resume"
        got = await c.drain(0.5)
        replayed = [f for f in got if f["type"] == "event"]
        ids = [(f["case"]["id"], f["event"]["seq"]) for f in replayed]
        assert all(f["position"] > last for f in replayed)
        assert not set(f["position"] for f in replayed) & set(before)
        assert other["id"] not in {f["case"]["id"] for f in replayed}
        expected = {(m["id"], s) for m in missed for s in (1, 2)} | {(missed[0]["id"], 3)}
        assert set(ids) == expected and len(ids) == len(expected)
        positions = [f["position"] for f in replayed]
        assert positions == sorted(positions)


async def test_too_far_behind_is_told_to_resync(live: str, auth: Auth, rest: Api) -> None:
    await rest.create(category_code="T01")
    await asyncio.sleep(0.2)
    async with ws_client(live, token(auth, "dispatcher")) as c:
        await c.send(
            {
                "type": "subscribe",
                "topics": [{"kind": "region", "key": "339901001"}],
                "since": 10**9,
            }
        )
        assert (await c.recv())["mode"] == "snapshot"
        assert (await c.recv())["type"] == "resync"
        assert len((await c.until(lambda f: f["type"] == "snapshot"))["cases"]) == 1


async def test_a_stale_snapshot_plus_events_converges_to_a_fresh_one(
    live: str, rest: Api, auth: Auth
) -> None:
    topic = [{"kind": "region", "key": "339901"}]
    base = [await rest.create(category_code="T01") for _ in range(2)]
    await asyncio.sleep(0.2)
    async with ws_client(live, token(auth, "county_commander")) as c:
        await c.send({"type": "subscribe", "topics": topic})
        stale = (await c.until(lambda f: f["type"] == "snapshot"))["cases"]
        state = {case["id"]: case for case in stale}
        a = await rest.act("admin", base[0], "acknowledge")
        await rest.act("admin", a, "check-in")
        await rest.act("dispatcher", base[1], "cancel", reason="重复")
        new = await rest.create(user="admin", category_code="C02", grid_code=WEST_GRID)
        await c.until(is_event_of(new["id"], "dispatched"))
        await c.drain()
        for f in c.events():
            current = state.get(f["case"]["id"])
            if current is None or f["case"]["version"] > current["version"]:
                state[f["case"]["id"]] = f["case"]
        open_now = {
            k: v for k, v in state.items() if v["state"] not in ("closed", "merged", "cancelled")
        }
    async with ws_client(live, token(auth, "county_commander")) as fresh:
        await fresh.send({"type": "subscribe", "topics": topic})
        snap = (await fresh.until(lambda f: f["type"] == "snapshot"))["cases"]
    # A region snapshot carries the summary fields; the events' full cases agree on them.
    fields = set(SUMMARY_FIELDS)
    assert snap and all(set(c) == fields | {"overdue"} for c in snap)
    assert {c["id"]: {k: v for k, v in c.items() if k in fields} for c in snap} == {
        k: {kk: vv for kk, vv in v.items() if kk in fields} for k, v in open_now.items()
    }


async def test_tasks_reach_the_inbox_until_acknowledged(live: str, rest: Api, auth: Auth) -> None:
    async with ws_client(live, token(auth, "staff")) as staff:
        await staff.send({"type": "subscribe", "topics": [{"kind": "inbox"}]})
        assert (await staff.until(lambda f: f["type"] == "tasks"))["tasks"] == []
        case = await rest.create(category_code="C01")
        case = await rest.act("leader", case, "confirm-whistle")
        pushed = await staff.until(is_event_of(case["id"], "whistle_confirmed"))
        assert pushed["case"]["assigned_staff_id"] is not None
    async with ws_client(live, token(auth, "staff")) as staff:  # not acknowledged: again
        await staff.send({"type": "subscribe", "topics": [{"kind": "inbox"}]})
        tasks = (await staff.until(lambda f: f["type"] == "tasks"))["tasks"]
        assert [t["id"] for t in tasks] == [case["id"]]
        await staff.send({"type": "ack", "case_id": case["id"], "version": tasks[0]["version"]})
        result = await staff.until(lambda f: f["type"] == "ack_result")
        assert result["ok"] is True
        await staff.until(is_event_of(case["id"], "acknowledged"))
        await staff.send({"type": "ack", "case_id": case["id"], "version": tasks[0]["version"]})
        stale = await staff.until(lambda f: f["type"] == "ack_result")
        assert stale["ok"] is False and stale["error"]["error"] == "conflict"
    events = await rest.events(case["id"])
    assert events[-1]["type"] == "acknowledged" and events[-1]["actor"].startswith("staff")
    async with ws_client(live, token(auth, "staff")) as staff:
        await staff.send({"type": "subscribe", "topics": [{"kind": "inbox"}]})
        assert (await staff.until(lambda f: f["type"] == "tasks"))["tasks"] == []


async def test_disabled_users_sockets_close(live: str, rest: Api, auth: Auth, hub: Hub) -> None:
    wall_id = (await rest.client.get("/api/v1/auth/me", headers=auth("wall"))).json()["id"]
    async with ws_client(live, token(auth, "wall")) as c:
        r = await rest.client.patch(
            f"/api/v1/users/{wall_id}", json={"disabled": True}, headers=auth("admin")
        )
        assert r.status_code == 200
        assert hub.realtime is not None
        await hub.realtime.revalidate()
        with pytest.raises(ConnectionClosed) as info:
            await c.until(lambda f: False)
        assert info.value.rcvd is not None and info.value.rcvd.code == 4003


async def _subscribe(c: Client, key: str) -> None:
    await c.send({"type": "subscribe", "topics": [{"kind": "region", "key": key}]})
    await c.until(lambda f: f["type"] == "snapshot")


async def test_pushed_counters_equal_what_the_database_says(
    live: str, rest: Api, auth: Auth, hub: Hub, world: World
) -> None:
    from hub.enums import Tier
    from hub.realtime.counters import region_counters

    async with ws_client(live, token(auth, "county_commander")) as c:
        await _subscribe(c, "339901")
        made = [await rest.create(category_code=cat) for cat in ("T01", "G01", "C02")]
        await rest.act("admin", made[0], "acknowledge")
        await rest.act("dispatcher", made[1], "cancel", reason="误报")
        await c.until(is_event_of(made[1]["id"], "cancelled"))
        await asyncio.sleep(1.2)  # counters go out at most twice a second
        await c.drain()
        pushed = [f for f in c.seen if f["type"] == "counters"][-1]["counters"]
    async with hub.db.read() as session:
        truth = await region_counters(session, Tier.COUNTY, world.region["339901"], hub.clock.now())
    assert pushed == truth
    assert pushed["open"] == 2 and pushed["total"] == 2
