"""Prepared frames written past ASGI (hub/realtime/wire.py): the same bytes websockets
would send, only on sockets that qualify, and never out of order when a transport pauses."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from websockets.client import ClientProtocol
from websockets.frames import Frame
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri

from hub.deps import Hub
from hub.realtime.wire import RawSocket, encode_text
from tests.helpers import Api, Auth
from tests.live import Client, serve, ws_client

TOWNSHIP = "339901001"


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70_000])
def test_a_prepared_frame_is_what_websockets_sends(size: int) -> None:
    text = ("街乡吹哨" * size)[:size]  # multi-byte: the length is of the UTF-8 bytes
    proto = ServerProtocol(state=State.OPEN)
    proto.send_text(text.encode())
    assert encode_text(text) == b"".join(proto.data_to_send())


class CountingRaw(RawSocket):
    """Records what goes out past ASGI: the type of every websocket frame written."""

    __slots__ = ("types",)

    def __init__(self, proto: Any) -> None:
        super().__init__(proto)
        self.types: list[str] = []

    def write(self, wire: bytes) -> bool:
        done = super().write(wire)
        if done:
            reader = ClientProtocol(parse_uri("ws://x/"), state=State.OPEN)
            reader.receive_data(wire)
            for frame in reader.events_received():
                assert isinstance(frame, Frame)
                self.types.append(json.loads(bytes(frame.data))["type"])
        return done


async def _subscribed(c: Client) -> None:
    await c.send({"type": "subscribe", "topics": [{"kind": "region", "key": TOWNSHIP}]})
    await c.until(lambda f: f["type"] == "counters")
    await c.drain(0.2)


def _events(frames: list[dict[str, Any]]) -> list[tuple[int, int]]:
    return [(f["position"], f["case"]["id"]) for f in frames if f["type"] == "event"]


async def test_uncompressed_sockets_get_prepared_frames_and_deflate_ones_asgi(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    api = Api(client, auth)
    token = auth("dispatcher")["Authorization"].split()[1]
    async with (
        serve(hub) as addr,
        ws_client(addr, token) as plain,
        ws_client(addr, token, compression="deflate") as deflated,
    ):
        assert hub.realtime is not None  # started by the server's lifespan
        conns = list(hub.realtime.gateway.connections)
        direct = [c for c in conns if c.raw is not None]
        assert len(conns) == 2 and len(direct) == 1  # the deflate socket keeps ASGI
        counting = CountingRaw(direct[0].raw.proto)  # type: ignore[union-attr]
        direct[0].raw = counting
        await _subscribed(plain)
        await _subscribed(deflated)
        made = [await api.create(category_code="T01") for _ in range(3)]
        hub.realtime.poke()
        got_plain = await plain.drain(0.5)
        got_deflated = await deflated.drain(0.5)
    assert _events(got_plain) == _events(got_deflated)
    assert sorted({case for _, case in _events(got_plain)}) == sorted(m["id"] for m in made)
    assert len(_events(got_plain)) == 6
    assert counting.types.count("event") == 6  # every event frame went out directly


async def test_a_paused_transport_falls_back_in_order_and_resumes_direct(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    api = Api(client, auth)
    token = auth("dispatcher")["Authorization"].split()[1]
    async with serve(hub) as addr, ws_client(addr, token) as c:
        assert hub.realtime is not None
        (conn,) = hub.realtime.gateway.connections
        assert conn.raw is not None
        proto = conn.raw.proto
        counting = conn.raw = CountingRaw(proto)
        await _subscribed(c)
        proto.pause_writing()  # what the transport does when its buffer is over the mark
        for _ in range(2):
            await api.create(category_code="T01")
            hub.realtime.poke()
            await asyncio.sleep(0.2)
        assert counting.types == [] and conn.backlog is not None  # held in the ASGI path
        assert _events(await c.drain(0.3)) == []
        proto.resume_writing()
        held = _events(await c.drain(0.5))
        assert conn.backlog is None  # caught up: direct writes again
        await api.create(category_code="T01")
        hub.realtime.poke()
        after = _events(await c.drain(0.5))
    positions = [p for p, _ in held + after]
    assert len(held) == 4 and len(after) == 2
    assert positions == sorted(positions) == list(range(positions[0], positions[0] + 6))
    assert counting.types.count("event") == len(after)  # the held ones went through ASGI
