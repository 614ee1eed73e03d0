"""The live-push benchmark's load side: the servers under test and open-loop drivers.

`HubDriver` creates each case with `POST /api/v1/cases` over a pool of keep-alive HTTP/1.1
connections written by hand (a few microseconds a request: httpx would cost the shared
two cores more than the server it measures). `BareDriver` tells the bare server to
broadcast the same two frames (`created`, `dispatched`) a hub case produces, built from
frames the hub actually sent earlier in the run. Both note `time.monotonic()` just before
the request's bytes are written: that is where every latency starts."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from tests.bench.push_world import Inbox
from tests.procs import HubProcess, RedisServer, _wait_port
from tests.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
KEEPALIVE_S = 3.0


@dataclass(frozen=True)
class Target:
    name: str  # hub | hub-redis | bare
    host: str
    port: int
    pid: int


@dataclass(frozen=True)
class Plan:
    inbox: Inbox  # whose task the case becomes
    grid: str


@dataclass
class Sent:
    k: int
    plan: Plan
    t_sched: float
    t_sent: float = 0.0
    t_done: float = 0.0
    status: int = 0
    key: int = 0  # the case id the frames carry
    staff_id: int | None = None  # assigned, per the hub's answer
    error: str | None = None


@contextmanager
def hub_server(db_file: Path, secret: str, bus_url: str) -> Iterator[Target]:
    env = {
        "HUB_DATABASE_URL": f"sqlite+aiosqlite:///{db_file}",
        "HUB_SECRET_KEY": secret,
        "HUB_MODE": "production",
        "HUB_BUS_URL": bus_url,
        "HUB_LOG_LEVEL": "warning",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",  # one load generator sends every case
    }
    hub = HubProcess(env=env)
    hub.start()
    assert hub.proc is not None
    try:
        yield Target(
            "hub-redis" if bus_url.startswith("redis") else "hub",
            "127.0.0.1",
            hub.port,
            hub.proc.pid,
        )
    finally:
        hub.stop()


@contextmanager
def bare_server(secret: str) -> Iterator[Target]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.bench.bare_server", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, "BENCH_SECRET": secret},
        stdout=subprocess.DEVNULL,
    )
    try:
        _wait_port(port, 30)
        yield Target("bare", "127.0.0.1", port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextmanager
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        raise RuntimeError("redis-server not found: run `make system-deps`")
    redis = RedisServer()
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


def copy_db(template: Path, to: Path) -> Path:
    to.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        src = template.with_name(template.name + suffix)
        dst = to.with_name(to.name + suffix)
        if src.exists():
            shutil.copyfile(src, dst)
        elif dst.exists():
            dst.unlink()
    return to


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class HubDriver:
    def __init__(self, target: Target, token: str) -> None:
        self.target = target
        self.head = (
            f"POST /api/v1/cases HTTP/1.1\r\nHost: {target.host}:{target.port}\r\n"
            f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        ).encode()
        # (reader, writer, last used): uvicorn closes a connection idle for 5 s, so one
        # idle for KEEPALIVE_S is dropped here rather than written to.
        self.idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter, float]] = []

    async def warm(self, connections: int) -> None:
        for _ in range(connections):
            r, w = await asyncio.open_connection(self.target.host, self.target.port)
            self.idle.append((r, w, time.monotonic()))

    async def _conn(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        while self.idle:
            reader, writer, used = self.idle.pop()
            if time.monotonic() - used < KEEPALIVE_S:
                return reader, writer
            writer.close()
        return await asyncio.open_connection(self.target.host, self.target.port)

    async def fire(self, sent: Sent) -> None:
        body = json.dumps(
            {
                "title": f"bench push {sent.k}",
                "grid_code": sent.plan.grid,
                "category_code": sent.plan.inbox.category,
            }
        ).encode()
        try:
            reader, writer = await self._conn()
            sent.t_sent = time.monotonic()
            writer.write(self.head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
            sent.status = int((await reader.readline()).split()[1])
            length, keep = 0, True
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value)
                elif name.lower() == "connection" and "close" in value.lower():
                    keep = False
            data = await reader.readexactly(length)
            sent.t_done = time.monotonic()
            if keep:
                self.idle.append((reader, writer, sent.t_done))
            else:
                writer.close()
            if sent.status != 201:
                sent.error = f"HTTP {sent.status}: {data[:200]!r}"
                return
            case = json.loads(data)
            sent.key, sent.staff_id = case["id"], case["assigned_staff_id"]
        except (OSError, ValueError, IndexError, asyncio.IncompleteReadError) as exc:
            sent.error = f"request failed: {exc!r}"

    async def close(self) -> None:
        for _, writer, _ in self.idle:
            writer.close()


class BareDriver:
    def __init__(self, target: Target, samples: dict[int, str]) -> None:
        self.target = target
        self.templates = [_template(samples.get(e) or _synthetic(e)) for e in (0, 1)]
        self.ws: ClientConnection | None = None
        self.position = 0

    async def warm(self, connections: int) -> None:
        url = f"ws://{self.target.host}:{self.target.port}/control"
        self.ws = await connect(url, compression=None, ping_interval=None, max_size=None)

    async def fire(self, sent: Sent) -> None:
        assert self.ws is not None
        inbox = sent.plan.inbox
        town = inbox.township_code
        sent.key, sent.staff_id = sent.k + 1, inbox.staff_id
        frames = []
        for head, middle, tail in self.templates:
            self.position += 1
            frames.append(f"{head}{self.position}{middle}{sent.key}{tail}")
        keys = [f"region:{town[:4]}", f"region:{town[:6]}", f"region:{town}"]
        message = json.dumps({"keys": [*keys, f"inbox:{inbox.user_id}"], "frames": frames})
        sent.t_sent = time.monotonic()
        await self.ws.send(message)
        sent.t_done, sent.status = time.monotonic(), 201

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()


Driver = HubDriver | BareDriver


def _template(text: str) -> tuple[str, str, str]:
    """Split a real frame around its position and its event's case id."""
    pos = re.search(r'"position":(\d+)', text)
    cid = re.search(r'"case_id":(\d+)', text)
    assert pos is not None and cid is not None and pos.end() < cid.start(), text[:200]
    return text[: pos.start(1)], text[pos.end(1) : cid.start(1)], text[cid.end(1) :]


def _synthetic(etype: int) -> str:
    """Only if the hub sent no frame to copy: an event frame of a typical size."""
    kind = ("created", "dispatched")[etype]
    pad = "x" * 1100
    return (
        f'{{"type":"event","position":0,"event":{{"id":0,"case_id":0,"seq":{etype + 1},'
        f'"type":"{kind}"}},"case":{{"pad":"{pad}"}}}}'
    )


async def open_loop(
    sends: list[Sent],
    fire: Callable[[Sent], Coroutine[Any, Any, None]],
    tasks: list[asyncio.Task[Any]],
) -> None:
    """Fire each send at its scheduled time whether or not earlier ones have answered."""
    for sent in sends:
        delay = sent.t_sched - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(fire(sent)))
