"""Open-loop case creation that keeps trying through faults.

Case k is due at `start + k / rate` whatever happened to earlier ones. Each attempt is one
`POST /api/v1/cases` on a fresh loopback connection to the next hub in turn, with the
case's own `Idempotency-Key`; an attempt that fails (refused, reset, timed out, 5xx) is
retried a moment later, so a retry after a fault must come back as the same case. A case
is *acknowledged* once any attempt answered 2xx: that is a write the run must find."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from tests.bench.push_world import Inbox

REQUEST_TIMEOUT_S = 15.0
RETRY_PAUSE_S = 1.0
MAX_ATTEMPTS = 60
MAX_IN_FLIGHT = 400  # a bound, not a pace: reported if it was ever reached


@dataclass
class Write:
    k: int
    inbox: Inbox
    grid: str
    t_due: float
    t_sent: float = 0.0  # the first attempt's send time
    t_acked: float = 0.0
    case_id: int | None = None
    staff_id: int | None = None
    attempts: int = 0
    ids_seen: set[int] = field(default_factory=set)  # case ids of every 2xx answer
    last_error: str | None = None


@dataclass
class LoadStats:
    statuses: Counter[str] = field(default_factory=Counter)  # "201", "500", "refused", ...
    five_xx: list[str] = field(default_factory=list)  # the first few 5xx bodies
    in_flight_max: int = 0
    capped: int = 0  # arrivals that waited for an in-flight slot


async def _post(addr: str, head: bytes, body: bytes) -> tuple[int, bytes]:
    host, port = addr.split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(head + b"Content-Length: %d\r\n\r\n" % len(body) + body)
        status = int((await reader.readline()).split()[1])
        length = 0
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value)
        return status, await reader.readexactly(length)
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class Creator:
    def __init__(self, addrs: Callable[[], list[str]], token: str, title: str) -> None:
        self.addrs = addrs  # the hubs to spread over (read at each attempt)
        self.token = token
        self.title = title
        self.stats = LoadStats()
        self.writes: list[Write] = []
        self._turn = 0
        self._in_flight = 0

    def _head(self, addr: str, key: str) -> bytes:
        return (
            f"POST /api/v1/cases HTTP/1.1\r\nHost: {addr}\r\n"
            f"Authorization: Bearer {self.token}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {key}\r\nConnection: close\r\n"
        ).encode()

    async def _one(self, w: Write, give_up_at: float) -> None:
        body = orjson.dumps(
            {
                "title": f"{self.title} {w.k}",
                "grid_code": w.grid,
                "category_code": w.inbox.category,
            }
        )
        key = f"{self.title}-{w.k}"
        while w.attempts < MAX_ATTEMPTS and time.monotonic() < give_up_at:
            addrs = self.addrs()
            addr = addrs[self._turn % len(addrs)]
            self._turn += 1
            w.attempts += 1
            if not w.t_sent:
                w.t_sent = time.monotonic()
            try:
                async with asyncio.timeout(REQUEST_TIMEOUT_S):
                    status, data = await _post(addr, self._head(addr, key), body)
            except (OSError, TimeoutError, ValueError, IndexError) as exc:
                self.stats.statuses[type(exc).__name__] += 1
                w.last_error = repr(exc)[:200]
            except asyncio.IncompleteReadError as exc:
                self.stats.statuses["IncompleteRead"] += 1
                w.last_error = repr(exc)[:200]
            else:
                self.stats.statuses[str(status)] += 1
                if status in (200, 201):
                    case = orjson.loads(data)
                    w.ids_seen.add(case["id"])
                    if w.case_id is None:
                        w.case_id, w.staff_id = case["id"], case["assigned_staff_id"]
                        w.t_acked = time.monotonic()
                    return
                w.last_error = f"HTTP {status}: {data[:300]!r}"
                if status >= 500 and len(self.stats.five_xx) < 20:
                    self.stats.five_xx.append(w.last_error)
                if 400 <= status < 500 and status not in (408, 429):
                    return  # a refusal is an answer, not a fault to ride out
            await asyncio.sleep(RETRY_PAUSE_S)

    async def run(
        self,
        inboxes: list[Inbox],
        *,
        count: int,
        rate_per_s: float,
        retry_for_s: float,
        on_tick: Callable[[int], None] | None = None,
    ) -> None:
        """Create `count` cases at `rate_per_s`; keep retrying each for `retry_for_s` more."""
        start = time.monotonic()
        gate = asyncio.Semaphore(MAX_IN_FLIGHT)
        tasks: set[asyncio.Task[None]] = set()

        async def guarded(w: Write) -> None:
            if gate.locked():
                self.stats.capped += 1
            async with gate:
                self._in_flight += 1
                self.stats.in_flight_max = max(self.stats.in_flight_max, self._in_flight)
                try:
                    await self._one(w, w.t_due + retry_for_s)
                finally:
                    self._in_flight -= 1

        for k in range(count):
            due = start + k / rate_per_s
            if (wait := due - time.monotonic()) > 0:
                await asyncio.sleep(wait)
            inbox = inboxes[k % len(inboxes)]
            w = Write(k, inbox, inbox.grids[(k // len(inboxes)) % len(inbox.grids)], due)
            self.writes.append(w)
            task = asyncio.create_task(guarded(w))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            if on_tick is not None:
                on_tick(k)
        if tasks:
            await asyncio.gather(*tasks)
