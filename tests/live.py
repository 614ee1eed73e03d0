"""A real uvicorn server on the test's event loop, and a small websocket client."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from websockets.asyncio.client import ClientConnection, connect

from hub.deps import Hub
from hub.main import create_app
from tests.servers import free_port

Frame = dict[str, Any]


@asynccontextmanager
async def serve(hub: Hub) -> AsyncIterator[str]:
    app = create_app(hub=hub)
    port = free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
        ws="websockets-sansio",
        ws_max_size=64 * 1024,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


class Client:
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seen: list[Frame] = []

    async def send(self, message: Any) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, timeout_s: float = 5.0) -> Frame:
        frame: Frame = json.loads(await asyncio.wait_for(self.ws.recv(), timeout_s))
        self.seen.append(frame)
        return frame

    async def until(self, match: Callable[[Frame], bool], timeout_s: float = 5.0) -> Frame:
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                raise TimeoutError("no matching frame")
            frame = await self.recv(left)
            if match(frame):
                return frame

    async def drain(self, quiet_s: float = 0.3) -> list[Frame]:
        """Everything that arrives until the socket has been quiet for `quiet_s`."""
        got = []
        while True:
            try:
                got.append(await self.recv(quiet_s))
            except TimeoutError:
                return got

    def events(self) -> list[Frame]:
        return [f for f in self.seen if f["type"] == "event"]


@asynccontextmanager
async def ws_client(addr: str, token: str | None, **connect_kw: Any) -> AsyncIterator[Client]:
    # No compression unless asked: like the benchmark's clients (and curl, and most bots).
    async with connect(f"ws://{addr}/ws", **{"compression": None, **connect_kw}) as ws:
        client = Client(ws)
        if token is not None:
            await client.send({"type": "auth", "token": token})
            welcome = await client.recv()
            assert welcome["type"] == "welcome", welcome
        yield client
