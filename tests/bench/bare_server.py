"""The live-push baseline: a bare `websockets` broadcast server (issue #4).

It speaks just enough of the hub's protocol for the benchmark's client harness: the first
message is `{"type":"auth","token":...}` (an HS256 JWT checked with the same secret, as
the hub does), answered with a welcome frame; then one `subscribe` message, answered with
`subscribed` and an empty `snapshot` per region topic or an empty `tasks` frame for the
inbox. After that it only pushes. No database, no queue per socket, no filtering beyond a
dict lookup: `websockets.broadcast` writes each frame straight into the sockets' buffers.

The load generator drives it through `/control`, one JSON message per case:
`{"keys": ["region:3399", "inbox:17", ...], "frames": ["<text>", ...]}`: each frame goes to
every socket subscribed to any of the keys, in order.

Run: `python -m tests.bench.bare_server --port P` with BENCH_SECRET set; prints
`listening` once it accepts connections."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
from collections import defaultdict
from typing import Any

import jwt
from websockets.asyncio.server import ServerConnection, broadcast, serve
from websockets.exceptions import ConnectionClosed

SECRET = os.environ.get("BENCH_SECRET", "")
index: dict[str, set[ServerConnection]] = defaultdict(set)


def _frame(**fields: Any) -> str:
    return json.dumps(fields, separators=(",", ":"))


async def control(ws: ServerConnection) -> None:
    async for raw in ws:
        msg = json.loads(raw)
        targets: set[ServerConnection] = set()
        for key in msg["keys"]:
            targets.update(index.get(key, ()))
        for text in msg["frames"]:
            broadcast(targets, text)


async def subscriber(ws: ServerConnection) -> None:
    try:
        auth = json.loads(await asyncio.wait_for(ws.recv(), 10))
        claims = jwt.decode(auth["token"], SECRET, algorithms=["HS256"])
    except (TimeoutError, ValueError, KeyError, jwt.PyJWTError):
        await ws.close(4001, "authentication failed")
        return
    user = str(claims["sub"])
    await ws.send(_frame(type="welcome", protocol=1, user=user, role="bench", position=0))
    sub = json.loads(await ws.recv())
    keys = []
    for topic in sub["topics"]:
        keys.append(f"inbox:{user}" if topic["kind"] == "inbox" else f"region:{topic['key']}")
    await ws.send(_frame(type="subscribed", topics=sub["topics"], mode="snapshot", position=0))
    for topic in sub["topics"]:
        if topic["kind"] == "inbox":
            await ws.send(_frame(type="tasks", position=0, tasks=[]))
        else:
            await ws.send(_frame(type="snapshot", position=0, topic=topic, cases=[]))
    for key in keys:
        index[key].add(ws)
    try:
        async for raw in ws:
            if json.loads(raw).get("type") == "ping":
                await ws.send(_frame(type="pong", nonce=None, position=0))
    except ConnectionClosed:
        pass  # the harness drops its sockets without a closing handshake
    finally:
        for key in keys:
            index[key].discard(ws)


async def handler(ws: ServerConnection) -> None:
    if ws.request is not None and ws.request.path == "/control":
        await control(ws)
    else:
        await subscriber(ws)


async def main(port: int) -> None:
    async with serve(
        handler,
        "127.0.0.1",
        port,
        compression=None,
        ping_interval=None,
        max_size=64 * 1024,
        backlog=2048,
    ):
        print("listening", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="bare websockets broadcast server (benchmark)")
    p.add_argument("--port", type=int, required=True)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop  # the hub runs on uvloop too (uvicorn's default when installed)

        uvloop.run(main(a.port))
    except ImportError:
        asyncio.run(main(a.port))
