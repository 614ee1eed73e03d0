"""Well-behaved websocket clients, spread over a few processes, that never give up.

Each socket authenticates, subscribes to its one topic and records every `event` frame's
position, case and arrival time (time.monotonic(), system-wide on Linux, so it compares
with the load generator's send times). When its connection ends for any reason it waits a
moment and reconnects to the next hub in the list, resuming with `since` = the last
position it applied, as docs/realtime.md tells a client to. A frame at or below that
position is counted as a duplicate and not applied; a `snapshot` answer to a `since`
(a resync) is recorded with the positions it skipped."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing as mp
import random
import resource
import threading
import time
from array import array
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from multiprocessing.process import BaseProcess
from typing import Any

import orjson
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.reliability.world import Socket

RECONNECT_S = (0.2, 0.8)  # a random pause in this range before each reconnect
OPEN_TIMEOUT_S = 10.0


@dataclass
class Seen:
    sid: int
    pos: array[int] = field(default_factory=lambda: array("q"))
    case: array[int] = field(default_factory=lambda: array("q"))
    t: array[float] = field(default_factory=lambda: array("d"))
    first_head: int | None = None  # the position of the first snapshot cut
    last: int | None = None  # the last position applied
    connects: int = 0
    disconnects: int = 0
    duplicates: int = 0
    resyncs: list[tuple[int, int]] = field(default_factory=list)  # (since, new head)
    errors: list[str] = field(default_factory=list)
    close_codes: dict[int, int] = field(default_factory=dict)
    addr: str = ""  # the hub of the current (or last) connection
    open: bool = False
    modes: list[str] = field(default_factory=list)  # each subscribed frame's mode, in order
    last_frame_t: float = 0.0  # when any frame last arrived


def _apply(seen: Seen, text: str | bytes, now: float) -> None:
    frame = orjson.loads(text)
    kind = frame.get("type")
    seen.last_frame_t = now
    if kind == "subscribed" and len(seen.modes) < 50:
        seen.modes.append(f"{frame['mode']}@{frame['position']}")
    if kind == "event":
        pos = frame["position"]
        if seen.last is not None and pos <= seen.last:
            seen.duplicates += 1
            return
        seen.pos.append(pos)
        seen.case.append(frame["case"]["id"])
        seen.t.append(now)
        seen.last = pos
    elif kind == "subscribed" and frame["mode"] == "snapshot":
        head = frame["position"]
        if seen.first_head is None:
            seen.first_head = head
        elif seen.last is not None and head > seen.last:
            seen.resyncs.append((seen.last, head))
        seen.last = head if seen.last is None else max(seen.last, head)
    elif kind == "error" and len(seen.errors) < 20:
        seen.errors.append(str(text)[:300])


async def _run_socket(spec: Socket, addrs: list[str], stop: asyncio.Event, seen: Seen) -> None:
    attempt = spec.sid
    topic: dict[str, Any] = {"kind": spec.kind}
    if spec.key is not None:
        topic["key"] = spec.key
    while not stop.is_set():
        addr = addrs[attempt % len(addrs)]
        attempt += 1
        try:
            async with connect(
                f"ws://{addr}/ws",
                compression=None,
                open_timeout=OPEN_TIMEOUT_S,
                ping_interval=None,
                max_size=None,
                max_queue=None,
            ) as ws:
                await ws.send(orjson.dumps({"type": "auth", "token": spec.token}).decode())
                sub: dict[str, Any] = {"type": "subscribe", "topics": [topic]}
                if seen.last is not None:
                    sub["since"] = seen.last
                seen.connects += 1
                seen.addr, seen.open = addr, True
                first = True
                reader = asyncio.ensure_future(ws.recv())
                stopping = asyncio.ensure_future(stop.wait())
                try:
                    while True:
                        done, _ = await asyncio.wait(
                            {reader, stopping}, return_when=asyncio.FIRST_COMPLETED
                        )
                        if stopping in done:
                            return
                        text = reader.result()
                        now = time.monotonic()
                        if first:
                            first = False
                            if not str(text).startswith('{"type":"welcome"'):
                                seen.errors.append(f"no welcome: {str(text)[:200]}")
                            await ws.send(orjson.dumps(sub).decode())
                        else:
                            _apply(seen, text, now)
                        reader = asyncio.ensure_future(ws.recv())
                finally:
                    seen.open = False
                    for fut in (reader, stopping):
                        fut.cancel()
                        with contextlib.suppress(BaseException):
                            await fut
        except ConnectionClosed as exc:
            code = exc.rcvd.code if exc.rcvd is not None else 1006
            seen.close_codes[code] = seen.close_codes.get(code, 0) + 1
            seen.disconnects += 1
        except (OSError, TimeoutError, InvalidHandshake) as exc:
            seen.disconnects += 1
            name = type(exc).__name__
            seen.close_codes[-1] = seen.close_codes.get(-1, 0) + 1
            if len(seen.errors) < 20 and not isinstance(exc, OSError | TimeoutError):
                seen.errors.append(name)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(random.uniform(*RECONNECT_S)):
                await stop.wait()


def _progress(seen: dict[int, Seen]) -> list[tuple[int, int | None, int | None, int]]:
    return [(s.sid, s.first_head, s.last, len(s.pos)) for s in seen.values()]


async def _serve(commands: Pipe, replies: Pipe) -> None:
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[Any] = asyncio.Queue()

    def read() -> None:
        with contextlib.suppress(EOFError, OSError):
            while True:
                loop.call_soon_threadsafe(inbox.put_nowait, commands.recv())
        loop.call_soon_threadsafe(inbox.put_nowait, ("exit",))

    threading.Thread(target=read, daemon=True).start()
    stop = asyncio.Event()
    seen: dict[int, Seen] = {}
    tasks: list[asyncio.Task[None]] = []
    while True:
        cmd, *args = await inbox.get()
        if cmd == "start":
            specs, addrs = args
            for spec in specs:
                seen[spec.sid] = Seen(spec.sid)
                tasks.append(asyncio.create_task(_run_socket(spec, addrs, stop, seen[spec.sid])))
            replies.send(None)
        elif cmd == "progress":
            replies.send(_progress(seen))
        elif cmd == "collect":
            replies.send(list(seen.values()))
        elif cmd == "stop":
            stop.set()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(10):
                    await asyncio.gather(*tasks, return_exceptions=True)
            replies.send(list(seen.values()))
        elif cmd == "exit":
            stop.set()
            return


def _main(commands: Pipe, replies: Pipe) -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    asyncio.run(_serve(commands, replies))


class Clients:
    """`workers` processes holding the sockets, dealt round-robin."""

    def __init__(self, workers: int) -> None:
        ctx = mp.get_context("spawn")
        self.procs: list[BaseProcess] = []
        self.commands: list[Pipe] = []
        self.replies: list[Pipe] = []
        for _ in range(workers):
            cmd_r, cmd_w = ctx.Pipe(duplex=False)
            rep_r, rep_w = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=_main, args=(cmd_r, rep_w), daemon=True)
            proc.start()
            self.procs.append(proc)
            self.commands.append(cmd_w)
            self.replies.append(rep_r)

    async def _all(self, *msgs: tuple[Any, ...]) -> list[Any]:
        for pipe, msg in zip(self.commands, msgs, strict=True):
            pipe.send(msg)
        return [await asyncio.to_thread(pipe.recv) for pipe in self.replies]

    async def start(self, specs: list[Socket], addrs: list[str]) -> None:
        n = len(self.procs)
        await self._all(*(("start", specs[i::n], addrs) for i in range(n)))

    async def progress(self) -> list[tuple[int, int | None, int | None, int]]:
        return [p for part in await self._all(*(("progress",) for _ in self.procs)) for p in part]

    async def stop(self) -> list[Seen]:
        got = [s for part in await self._all(*(("stop",) for _ in self.procs)) for s in part]
        self.exit()
        return got

    def exit(self) -> None:
        for pipe in self.commands:
            with contextlib.suppress(OSError):
                pipe.send(("exit",))
        for proc in self.procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
