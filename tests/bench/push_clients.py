"""The live-push benchmark's client harness: websocket clients in worker processes.

Each worker holds a share of the sockets on its own event loop (uvloop when installed).
A socket is a `websockets` sans-I/O `ClientProtocol` driven by an `asyncio.Protocol`, so a
received frame costs a parse and a byte scan, not a task switch and a `json.loads`: the
clients must stay far below the servers' cost or they, not the server, set the ceiling.
No extensions are offered, so there is no compression. A socket authenticates, subscribes,
waits for its snapshot (or, for the inbox, its tasks frame) and is then "ready". Every
event frame is recorded as (socket id, case id, event type, time.monotonic()) at the moment
the bytes were read; CLOCK_MONOTONIC is system-wide on Linux, so these times compare with
the load generator's send times in the parent process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import multiprocessing as mp
import os
import resource
import threading
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Any, cast

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.uri import parse_uri

ETYPE = {b"created": 0, b"dispatched": 1}  # anything else: 2
CONNECTS_IN_FLIGHT = 16  # per worker
READY_TIMEOUT_S = 120.0
RETRY_S = 1.0


@dataclass(frozen=True)
class Spec:
    sid: int
    token: str
    topics: tuple[tuple[str, str | None], ...]  # (kind, key)


@dataclass
class Records:
    sid: array[int] = field(default_factory=lambda: array("i"))
    case: array[int] = field(default_factory=lambda: array("q"))
    etype: array[int] = field(default_factory=lambda: array("b"))
    t: array[float] = field(default_factory=lambda: array("d"))

    def extend(self, other: Records) -> None:
        self.sid.extend(other.sid)
        self.case.extend(other.case)
        self.etype.extend(other.etype)
        self.t.extend(other.t)


@dataclass
class Collected:
    records: Records = field(default_factory=Records)
    closed: list[tuple[int, int | None]] = field(default_factory=list)  # (sid, close code)
    samples: dict[int, str] = field(default_factory=dict)  # etype -> one frame's text
    other_frames: int = 0
    retried: int = 0  # subscribes answered `busy` or `rate_limited`, sent again after 1 s


class Sock(asyncio.Protocol):
    def __init__(self, spec: Spec, uri: str, out: Collected, ready: asyncio.Future[None]) -> None:
        self.spec = spec
        self.proto = ClientProtocol(parse_uri(uri), max_size=None)
        self.out = out
        self.ready = ready
        topics = [{"kind": k, **({"key": v} if v is not None else {})} for k, v in spec.topics]
        self.subscribe = json.dumps({"type": "subscribe", "topics": topics}).encode()
        self.waiting = len(topics)  # a snapshot per region topic, a tasks frame for the inbox
        self.transport: asyncio.Transport | None = None
        self.closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.proto.send_request(self.proto.connect())
        self._flush()

    def _flush(self) -> None:
        assert self.transport is not None
        for chunk in self.proto.data_to_send():
            if chunk:
                self.transport.write(chunk)
            elif self.transport.can_write_eof():
                self.transport.write_eof()

    def _send(self, message: bytes) -> None:
        self.proto.send_text(message)
        self._flush()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self.proto.receive_data(data)
        for event in self.proto.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    self._text(bytes(event.data), now)
            elif isinstance(event, Response):
                if self.proto.handshake_exc is not None:
                    self._fail(f"handshake: {self.proto.handshake_exc}")
                else:
                    self._send(json.dumps({"type": "auth", "token": self.spec.token}).encode())
        self._flush()

    def _text(self, data: bytes, now: float) -> None:
        if data.startswith(b'{"type":"event"'):
            i = data.find(b'"case_id":') + 10
            j = i
            while 48 <= data[j] <= 57:
                j += 1
            k = data.find(b'"type":"', j) + 8
            etype = ETYPE.get(data[k : data.find(b'"', k)], 2)
            rec = self.out.records
            rec.sid.append(self.spec.sid)
            rec.case.append(int(data[i:j]))
            rec.etype.append(etype)
            rec.t.append(now)
            if etype not in self.out.samples:
                self.out.samples[etype] = data.decode()
            return
        self.out.other_frames += 1
        if self.ready.done():
            return
        head = data[:40]
        if head.startswith(b'{"type":"welcome"'):
            self._send(self.subscribe)
        elif head.startswith((b'{"type":"snapshot"', b'{"type":"tasks"')):
            self.waiting -= 1
            if self.waiting == 0:
                self.ready.set_result(None)
        elif head.startswith(b'{"type":"error"'):
            if b'"code":"busy"' in data or b'"code":"rate_limited"' in data:
                # As the protocol says: subscribe again shortly (the snapshot still counts).
                self.out.retried += 1
                asyncio.get_running_loop().call_later(RETRY_S, self._send, self.subscribe)
            else:
                self._fail(data.decode()[:300])

    def _fail(self, why: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(RuntimeError(f"socket {self.spec.sid}: {why}"))
        if self.transport is not None:
            self.transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closing:
            code = self.proto.close_rcvd.code if self.proto.close_rcvd is not None else None
            self.out.closed.append((self.spec.sid, code))
        self._fail(f"connection lost ({exc or 'closed by the server'})")

    def close(self) -> None:
        self.closing = True
        if self.transport is not None:
            self.transport.abort()


async def _connect_all(
    host: str,
    port: int,
    specs: list[Spec],
    socks: dict[int, Sock],
    out: Collected,
    in_flight: int = CONNECTS_IN_FLIGHT,
) -> tuple[int, list[str], float]:
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(in_flight)
    errors: list[str] = []
    started = time.monotonic()

    async def one(spec: Spec) -> None:
        async with gate:
            ready: asyncio.Future[None] = loop.create_future()
            sock = socks[spec.sid] = Sock(spec, f"ws://{host}:{port}/ws", out, ready)
            try:
                await loop.create_connection(lambda: sock, host, port)
                await asyncio.wait_for(ready, READY_TIMEOUT_S)
            except Exception as exc:
                errors.append(f"socket {spec.sid}: {exc!r}"[:300])

    await asyncio.gather(*(one(s) for s in specs))
    return len(specs) - len(errors), errors, time.monotonic() - started


async def _serve(commands: Pipe, replies: Pipe, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                loop.call_soon_threadsafe(inbox.put_nowait, commands.recv())
        loop.call_soon_threadsafe(inbox.put_nowait, ("exit",))

    threading.Thread(target=read, daemon=True).start()
    socks: dict[int, Sock] = {}
    out = Collected()
    while True:
        cmd, *args = await inbox.get()
        if cmd == "connect":
            replies.send(await _connect_all(host, port, args[0], socks, out, *args[1:2]))
        elif cmd == "count":
            replies.send(len(out.records.t))
        elif cmd == "collect":
            replies.send(out)
            out = Collected(samples=out.samples)
            for sock in socks.values():
                sock.out = out
        elif cmd == "close":
            for sock in socks.values():
                sock.close()
            socks.clear()
            await asyncio.sleep(0.2)
            replies.send(None)
        elif cmd == "exit":
            return


def worker_main(commands: Pipe, replies: Pipe, host: str, port: int) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    try:
        import uvloop

        uvloop.run(_serve(commands, replies, host, port))
    except ImportError:
        asyncio.run(_serve(commands, replies, host, port))


class ClientPool:
    """`workers` processes; specs are dealt round-robin, so each holds about 1/n of them."""

    def __init__(self, host: str, port: int, workers: int = 4) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[BaseProcess] = []
        self.commands: list[Pipe] = []
        self.replies: list[Pipe] = []
        for _ in range(workers):
            cmd_r, cmd_w = ctx.Pipe(duplex=False)
            rep_r, rep_w = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=worker_main, args=(cmd_r, rep_w, host, port), daemon=True)
            proc.start()
            self.procs.append(proc)
            self.commands.append(cmd_w)
            self.replies.append(rep_r)

    async def _all(self, *msgs: tuple[Any, ...]) -> list[Any]:
        for pipe, msg in zip(self.commands, msgs, strict=True):
            pipe.send(msg)
        return [await asyncio.to_thread(pipe.recv) for pipe in self.replies]

    async def connect(
        self, specs: list[Spec], in_flight: int = CONNECTS_IN_FLIGHT
    ) -> tuple[int, list[str], float]:
        """Connect, authenticate and subscribe `specs`, at most `in_flight` handshakes at a
        time per worker: (ready, errors, seconds until the last was ready)."""
        n = len(self.procs)
        got = await self._all(*(("connect", specs[i::n], in_flight) for i in range(n)))
        return (
            sum(g[0] for g in got),
            [e for g in got for e in g[1]],
            max(g[2] for g in got),
        )

    async def count(self) -> int:
        return sum(await self._all(*(("count",) for _ in self.procs)))

    async def collect(self) -> Collected:
        merged = Collected()
        for part in await self._all(*(("collect",) for _ in self.procs)):
            merged.records.extend(part.records)
            merged.closed += part.closed
            merged.other_frames += part.other_frames
            merged.retried += part.retried
            for k, v in part.samples.items():
                merged.samples.setdefault(k, v)
        return merged

    async def close_sockets(self) -> None:
        await self._all(*(("close",) for _ in self.procs))

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(p.pid) for p in self.procs if p.pid is not None)

    def stop(self) -> None:
        for pipe in self.commands:
            with contextlib.suppress(OSError):
                pipe.send(("exit",))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()


def cpu_seconds(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
