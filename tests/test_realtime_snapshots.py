"""Snapshots shared by the subscribers who ask meanwhile: one query per topic and scope,
the same bytes for each, never a case outside a subscriber's own scope."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hub.auth.principal import load_principal
from hub.deps import Hub
from hub.realtime.gateway import Connection
from hub.realtime.protocol import SubscribeMsg, Topic
from hub.realtime.runtime import Realtime
from hub.realtime.session import subscribe
from hub.realtime.snapshots import SUMMARY_FIELDS, Snapshot, scope_key
from hub.realtime.wire import encode_text, frame_header
from tests.helpers import Api, Auth
from tests.world import World


class FakeSocket:
    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_text(self, data: str) -> None:
        self.sent.append(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        pass

    def frames(self, kind: str) -> list[dict[str, Any]]:
        return [f for f in map(json.loads, self.sent) if f["type"] == kind]


@pytest.fixture
async def realtime(hub: Hub) -> AsyncIterator[Realtime]:
    rt = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)
    await rt.gateway.start()
    hub.realtime = rt
    yield rt
    hub.realtime = None


async def _conns(hub: Hub, world: World, username: str, n: int) -> list[Connection]:
    async with hub.db.read() as session:
        user = await load_principal(session, world.user[username], None)
    return [Connection(FakeSocket(), user) for _ in range(n)]


def _socket(conn: Connection) -> FakeSocket:
    assert isinstance(conn.socket, FakeSocket)
    return conn.socket


async def test_subscribers_meanwhile_share_one_snapshot_and_scopes_never_mix(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, world: World, realtime: Realtime
) -> None:
    api = Api(client, auth)
    made = [await api.create(category_code=c) for c in ("T01", "C02", "G01", "C01", "T01")]
    police = world.dept[("339901", "police")]
    assert {c["department_id"] for c in made} - {police}, "every case went to the police"
    walls = await _conns(hub, world, "wall", 30)
    liaisons = await _conns(hub, world, "liaison", 10)
    county = SubscribeMsg(type="subscribe", topics=[Topic(kind="region", key="339901")])
    everyone = walls + liaisons
    for conn in everyone:
        realtime.gateway.register(conn)
    await asyncio.gather(*(subscribe(hub, conn, county) for conn in everyone))
    # Two scopes (the walls', the liaison's); per scope, one query at a time, shared by
    # everyone who arrived while the one before ran (without sharing: 40).
    assert realtime.snapshots.computed <= 8
    wall_frames = [_socket(c).frames("snapshot") for c in walls]
    assert all(len(f) == 1 for f in wall_frames)
    assert len({json.dumps(f[0], sort_keys=True) for f in wall_frames}) == 1  # shared
    wall_snap = wall_frames[0][0]
    assert {c["id"] for c in wall_snap["cases"]} == {c["id"] for c in made}
    assert all(set(c) == {*SUMMARY_FIELDS, "overdue"} for c in wall_snap["cases"])
    for conn in liaisons:
        (snap,) = _socket(conn).frames("snapshot")
        # The liaison sees its department's cases only, however the snapshot was shared.
        assert {c["id"] for c in snap["cases"]} == {
            c["id"] for c in made if c["department_id"] == police
        }
        assert all(c["department_id"] == police for c in snap["cases"])
    assert scope_key(walls[0].user) != scope_key(liaisons[0].user)


async def test_a_snapshot_is_shared_only_with_who_subscribed_before_its_query(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, world: World, realtime: Realtime
) -> None:
    api = Api(client, auth)
    await api.create(category_code="T01")
    (first, later) = await _conns(hub, world, "wall", 2)
    grant_msg = SubscribeMsg(type="subscribe", topics=[Topic(kind="region", key="339901")])
    for conn in (first, later):
        realtime.gateway.register(conn)
    await subscribe(hub, first, grant_msg)
    computed = realtime.snapshots.computed
    # A case created after the first snapshot's query must be in the later subscriber's.
    newer = await api.create(category_code="T01")
    await subscribe(hub, later, grant_msg)
    assert realtime.snapshots.computed == computed + 1
    (snap,) = _socket(later).frames("snapshot")
    assert newer["id"] in {c["id"] for c in snap["cases"]}


def test_a_snapshot_frame_in_parts_is_the_frame_encoded_whole() -> None:
    for size in (10, 200, 70_000):
        snap = Snapshot(
            body=b'"topic":{"kind":"region","key":"3399"},"cases":["'
            + b"x" * size
            + b'"],"truncated":false}',
            cases=1,
            truncated=False,
        )
        head, body = snap.wire(1234)
        assert head + body == encode_text(snap.text(1234))
        assert json.loads(snap.text(1234))["position"] == 1234
    assert frame_header(125)[1] == 125 and frame_header(126)[1] == 126
