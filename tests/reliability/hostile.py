"""Hostile websocket clients: connection after connection of malformed, oversized, binary,
deeply nested, flooding, out-of-order and badly framed messages, paced to a frame rate,
until a quota of frames has been written. A frame counts once its bytes were written to
the socket; what the server answered (error frames, close codes) is tallied per kind."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import multiprocessing as mp
import os
import random
import struct
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection as Pipe
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

KINDS = (
    "malformed",
    "schema",
    "nested",
    "oversized",
    "binary",
    "flood",
    "preauth",
    "order",
    "raw",
)
BURST = 200  # frames per connection for the kinds that send many
MAX_FRAME = 64 * 1024


@dataclass
class Tally:
    frames: Counter[str] = field(default_factory=Counter)  # kind -> frames written
    connections: Counter[str] = field(default_factory=Counter)
    closes: Counter[str] = field(default_factory=Counter)  # "kind:code"
    replies: Counter[str] = field(default_factory=Counter)  # "kind:frame type"
    refused: int = 0  # connections the server did not accept at all


def _garbage(rng: random.Random) -> str:
    choices = [
        "{",
        "}",
        "[1,2",
        '{"type": "subscribe", "topics": [',
        "null",
        "true",
        '"just a string"',
        "\x00\x01\x02",
        "NaN",
        "{'single': 'quotes'}",
        '{"type":"ping"}' * 3,
        "".join(chr(rng.randrange(32, 0x2FFF)) for _ in range(rng.randrange(1, 200))),
        '{"a":' + "1" * rng.randrange(1, 5000) + "}",
        "\ufeff{}",
    ]
    return rng.choice(choices)


def _wrong_schema(rng: random.Random) -> Any:
    big = 2 ** rng.choice([31, 53, 63, 64, 100])
    return rng.choice(
        [
            {"type": "subscribe"},
            {"type": "subscribe", "topics": "region"},
            {"type": "subscribe", "topics": [{"kind": "region", "key": "x" * 5000}]},
            {"type": "subscribe", "topics": [{"kind": "case", "key": str(big)}]},
            {"type": "subscribe", "topics": [{"kind": "case", "key": "-1"}]},
            {"type": "subscribe", "topics": [{"kind": "department", "key": "1e9"}]},
            {"type": "subscribe", "topics": [{"kind": "inbox"}], "since": -big},
            {"type": "subscribe", "topics": [{"kind": "region", "key": "3399"}], "since": big},
            {"type": "subscribe", "topics": [{"kind": "region", "key": "3399"}] * 500},
            {"type": "subscribe", "topics": [{"kind": "nope", "key": 1}]},
            {"type": "ack", "case_id": rng.randrange(-5, 10**6), "version": rng.randrange(0, 9)},
            {"type": "ack", "case_id": big, "version": big, "note": "x" * 10_000},
            {"type": "ack", "case_id": "1", "version": None},
            {"type": "ping", "nonce": "n" * 20_000},
            {"type": "ping", "nonce": {"nested": [1, 2, 3]}},
            {"type": "auth", "token": "again"},
            {"type": "pong"},
            {"type": 7},
            {"type": None},
            {"type": "subscribe", "topics": [{"kind": "region", "key": None}]},
            [{"type": "ping"}],
            {"type": "ping", "extra": {"k" * 100: "v" * 100}},
        ]
    )


def _nested(rng: random.Random) -> str:
    depth = rng.choice([1_000, 5_000, 20_000, 30_000])
    if rng.random() < 0.5:
        return "[" * depth + "]" * depth
    inner = '{"a":' * depth + "1" + "}" * depth
    return inner if len(inner) <= MAX_FRAME else '{"a":' * 10_000 + "1" + "}" * 10_000


def _mask(
    payload: bytes, opcode: int, *, fin: bool = True, rsv: int = 0, masked: bool = True
) -> bytes:
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = os.urandom(4)
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


def _raw_frames(rng: random.Random, auth: bytes) -> list[bytes]:
    """Badly framed traffic after a valid auth frame."""
    bad = [
        _mask(b"\xff\xfe not utf-8", 0x1),  # invalid UTF-8 in a text frame
        _mask(b"x", 0x3),  # reserved opcode
        _mask(b"{}", 0x1, masked=False),  # clients must mask
        _mask(b"{}", 0x1, rsv=0b100),  # RSV1 without an extension
        _mask(b'{"type":', 0x1, fin=False) + _mask(b"x", 0x1),  # a new text mid-fragment
        _mask(b'{"type":', 0x1, fin=False) + _mask(b"p", 0x9) + _mask(b'"ping"}', 0x0),
        _mask(struct.pack("!H", 999) + b"bad code", 0x8),  # a close with an invalid code
        _mask(b"p" * 200, 0x9),  # a control frame over 125 bytes
        _mask(b"{}", 0x0),  # a continuation with nothing to continue
        b"\x81\xfe\xff",  # truncated header, then the connection just ends
    ]
    return [_mask(auth, 0x1), rng.choice(bad)]


async def _raw(addr: str, auth: bytes, rng: random.Random, tally: Tally) -> None:
    host, port = addr.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write(
            (
                f"GET /ws HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                "Sec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        await writer.drain()
        async with asyncio.timeout(5):
            status = await reader.readline()
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
        if b" 101 " not in status:
            tally.closes[f"raw:http {status[:20]!r}"] += 1
            return
        for chunk in _raw_frames(rng, auth):
            writer.write(chunk)
            tally.frames["raw"] += 1
        await writer.drain()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(2):
                while await reader.read(65536):
                    pass
        tally.closes["raw:ended"] += 1
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _send_all(
    ws: ClientConnection, kind: str, frames: list[str | bytes], tally: Tally
) -> None:
    for f in frames:
        await ws.send(f)
        tally.frames[kind] += 1


async def _drain_replies(ws: ClientConnection, kind: str, tally: Tally, for_s: float) -> None:
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(for_s):
            async for msg in ws:
                head = msg[:40] if isinstance(msg, str) else "binary"
                t = head.split('"type":"', 1)[-1].split('"', 1)[0] if '"type":"' in head else head
                tally.replies[f"{kind}:{t}"] += 1


async def _one(addr: str, token: str, kind: str, rng: random.Random, tally: Tally) -> None:
    auth = json.dumps({"type": "auth", "token": token})
    tally.connections[kind] += 1
    if kind == "raw":
        await _raw(addr, auth.encode(), rng, tally)
        return
    frames: list[str | bytes]
    authed = kind != "preauth"
    if kind == "malformed":
        frames = [_garbage(rng) for _ in range(BURST)]
    elif kind == "schema":
        frames = [json.dumps(_wrong_schema(rng)) for _ in range(BURST)]
    elif kind == "nested":
        frames = [_nested(rng) for _ in range(5)]
    elif kind == "oversized":
        frames = ["x" * (MAX_FRAME + rng.randrange(1, 4096))]
    elif kind == "binary":
        frames = [os.urandom(rng.randrange(1, 2048))]
    elif kind == "flood":
        frames = ['{"type":"ping","nonce":"f"}'] * (BURST * 4)
    elif kind == "preauth":
        frames = [
            rng.choice(
                [
                    '{"type":"subscribe","topics":[{"kind":"region","key":"3399"}]}',
                    '{"type":"auth"}',
                    '{"type":"auth","token":"' + "e" * 3000 + '"}',
                    '{"type":"auth","api_key":"hub_nope_nope"}',
                    "[" * 20_000 + "]" * 20_000,
                    "not json",
                ]
            )
        ]
    else:  # order: valid messages in the wrong order or repeated
        frames = [
            json.dumps(m)
            for m in [
                {"type": "ack", "case_id": 1, "version": 1},
                {"type": "auth", "token": token},
                {"type": "subscribe", "topics": [{"kind": "region", "key": "3399"}], "since": 0},
                {"type": "subscribe", "topics": [{"kind": "region", "key": "3399"}]},
                {"type": "ping", "nonce": "x"},
            ]
            * 10
        ]
    try:
        async with connect(
            f"ws://{addr}/ws", compression=None, open_timeout=10, max_size=None, ping_interval=None
        ) as ws:
            if authed:
                await ws.send(auth)
                tally.frames[kind] += 1
            try:
                await _send_all(ws, kind, frames, tally)
                await _drain_replies(ws, kind, tally, 0.5)
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else 1006
                tally.closes[f"{kind}:{code}"] += 1
                return
            tally.closes[f"{kind}:{ws.close_code or 'open'}"] += 1
    except (OSError, TimeoutError, InvalidHandshake):
        tally.refused += 1


async def _run(
    addrs: list[str], tokens: list[str], quota: int, rate: float, seed: int, until: float
) -> Tally:
    rng = random.Random(seed)
    tally = Tally()
    started = time.monotonic()

    async def lane(n: int) -> None:
        lane_rng = random.Random(seed * 1000 + n)
        while sum(tally.frames.values()) < quota and time.monotonic() < until:
            # Pace: stay at or below `rate` frames a second over the whole run.
            ahead = sum(tally.frames.values()) / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(min(ahead, 1.0))
                continue
            kind = lane_rng.choice(KINDS)
            with contextlib.suppress(ConnectionClosed):
                await _one(lane_rng.choice(addrs), rng.choice(tokens), kind, lane_rng, tally)

    await asyncio.gather(*(lane(n) for n in range(16)))
    return tally


def _main(
    pipe: Pipe,
    addrs: list[str],
    tokens: list[str],
    quota: int,
    rate: float,
    seed: int,
    for_s: float,
    niceness: int,
) -> None:
    if niceness:
        # The attacker's CPU is not the hub's in a deployment; here both share the machine,
        # and at normal priority the ratio measured the generators' CPU more than the hub.
        os.nice(niceness)
    tally = asyncio.run(_run(addrs, tokens, quota, rate, seed, time.monotonic() + for_s))
    pipe.send(tally)


class Hostiles:
    def __init__(self, processes: int, *, niceness: int = 0) -> None:
        self.n = processes
        self.niceness = niceness
        self.ctx = mp.get_context("spawn")
        self.pipes: list[Pipe] = []
        self.procs: list[Any] = []

    def start(
        self, addrs: list[str], tokens: list[str], frames: int, rate: float, for_s: float
    ) -> None:
        for i in range(self.n):
            r, w = self.ctx.Pipe(duplex=False)
            quota, seed = frames // self.n, 20261202 + i
            args = (w, addrs, tokens, quota, rate / self.n, seed, for_s, self.niceness)
            proc = self.ctx.Process(target=_main, args=args, daemon=True)
            proc.start()
            self.pipes.append(r)
            self.procs.append(proc)

    async def wait(self) -> Tally:
        total = Tally()
        for pipe in self.pipes:
            t: Tally = await asyncio.to_thread(pipe.recv)
            total.frames.update(t.frames)
            total.connections.update(t.connections)
            total.closes.update(t.closes)
            total.replies.update(t.replies)
            total.refused += t.refused
        for proc in self.procs:
            proc.join(timeout=10)
            if proc.is_alive():
                proc.kill()
        return total
