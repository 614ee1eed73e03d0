"""The live-push machinery outlives a failing database (a PostgreSQL restart): the wall
counters loop and the Redis bus consumer log and go on, shutdown stays clean even after a
background task died, and `/ws` never raises because the client had already left."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any, cast

import orjson
import pytest
from fastapi import WebSocket, WebSocketDisconnect
from uvicorn.protocols.utils import ClientDisconnected

from hub.deps import Hub
from hub.realtime import runtime, views
from hub.realtime.bus import MemoryBus
from hub.realtime.frames import Frame
from hub.realtime.redis_bus import RedisStreamsBus
from hub.realtime.relay import Relay
from hub.realtime.runtime import Realtime
from hub.sla.engine import SlaEngine

REFUSED = ConnectionRefusedError(111, "Connect call failed")


async def until(check: Callable[[], bool], timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"not within {timeout_s} s")


async def test_the_counters_loop_survives_database_errors_and_stops_cleanly(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(runtime, "COUNTERS_EVERY_S", 0.01)
    realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)
    heads = 0
    pushes = 0

    async def head() -> int:  # outside the push's error handling: what killed the loop
        nonlocal heads
        heads += 1
        raise REFUSED

    async def push(region_ids: set[int]) -> None:
        nonlocal pushes
        pushes += 1
        raise REFUSED

    monkeypatch.setattr(realtime, "_head", head)
    monkeypatch.setattr(realtime, "push_counters", push)
    task = asyncio.create_task(realtime._counters_loop())
    realtime._tasks = [task]
    realtime.gateway.dirty_regions = {1}
    await until(lambda: heads >= 3)
    realtime.gateway.dirty_regions = {1}
    await until(lambda: pushes >= 1)
    assert not task.done()
    await realtime.stop()  # raises nothing
    assert task.cancelled()
    assert any("bus lag not measured" in r.getMessage() for r in caplog.records)


async def test_stop_is_clean_after_a_background_task_died(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)

    async def dies() -> None:
        raise REFUSED

    task = asyncio.create_task(dies(), name="dies")
    await asyncio.wait([task])
    realtime._tasks = [task]
    caplog.set_level(logging.ERROR)
    await realtime.stop()  # the process's exit code depends on this not raising
    assert [r.getMessage() for r in caplog.records] == ["background task dies had failed"]


class FakeReader:
    """Stands in for the Redis client the consumer blocks on: hands out two batches."""

    def __init__(self) -> None:
        at = b"2026-01-01T00:00:00+00:00"
        self.batches: list[Any] = [
            [(b"hub:events", [(f"{p}-0".encode(), self.fields(p, at))])] for p in (1, 2)
        ]

    @staticmethod
    def fields(position: int, at: bytes) -> dict[bytes, bytes]:
        return {b"p": str(position).encode(), b"t": b"{}", b"c": orjson.dumps({}), b"at": at}

    async def xrevrange(self, stream: str, count: int) -> list[Any]:
        return []

    async def xread(self, streams: dict[str, str], count: int, block: int) -> list[Any]:
        if self.batches:
            batch: list[Any] = self.batches.pop(0)
            return batch
        await asyncio.sleep(0.01)
        return []

    async def aclose(self) -> None:
        pass


async def test_the_redis_consumer_survives_a_failed_delivery(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hub.realtime.redis_bus.RETRY_S", 0.01)
    bus = RedisStreamsBus("redis://127.0.0.1:1/0")  # never connected: the reader is fake
    bus._reader = cast(Any, FakeReader())
    delivered: list[int] = []

    async def deliver(frames: list[Frame]) -> None:
        if frames[0].position == 1:
            raise REFUSED  # the gateway's backfill read the database during its restart
        delivered.extend(f.position for f in frames)

    await bus.start(deliver)
    await until(lambda: delivered == [2])
    assert bus._task is not None and not bus._task.done()
    await bus.stop()


class GoneSocket:
    """A client that sent its first message and left: closing it raises."""

    def __init__(self, hub: Hub, first: str, error: Exception, origin: str | None) -> None:
        self.app = SimpleNamespace(state=SimpleNamespace(hub=hub))
        self.headers = {"host": "hub.test"} | ({"origin": origin} if origin else {})
        self.first = first
        self.error = error
        self.closes: list[int] = []

    async def accept(self) -> None:
        pass

    async def receive_text(self) -> str:
        return self.first

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        self.closes.append(code)
        raise self.error


BAD_KEY = '{"type": "auth", "api_key": "hub_nope_nope"}'


@pytest.mark.parametrize("error", [ClientDisconnected(), WebSocketDisconnect(1006)])
@pytest.mark.parametrize(
    ("first", "origin", "code"),
    [
        (BAD_KEY, None, 4001),  # a bad credential
        ("[" * 30_000 + "]" * 30_000, None, 4001),  # nested JSON before auth
        (BAD_KEY, "http://elsewhere.example", 1008),  # refused at the handshake
    ],
)
async def test_closing_a_socket_whose_client_left_does_not_raise_out_of_ws(
    hub: Hub, first: str, origin: str | None, code: int, error: Exception
) -> None:
    hub.realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)
    ws = GoneSocket(hub, first, error, origin)
    await views._serve(cast(WebSocket, ws))
    assert ws.closes == [code]


async def test_a_database_failing_during_authentication_closes_with_try_again_later(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def refused(hub: Hub, message: Any) -> Awaitable[None]:
        raise REFUSED

    monkeypatch.setattr(views, "authenticate_message", refused)
    hub.realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock, relay=False)
    ws = GoneSocket(hub, BAD_KEY, ClientDisconnected(), None)
    await views._serve(cast(WebSocket, ws))
    assert ws.closes == [1013]


async def test_the_relay_and_the_sla_timers_stop_cleanly_after_their_task_died(
    hub: Hub, caplog: pytest.LogCaptureFixture
) -> None:
    async def dies() -> None:
        raise REFUSED

    relay = Relay(hub.db, MemoryBus(), hub.metrics, hub.clock)
    engine = SlaEngine(hub)
    relay._task = asyncio.create_task(dies())
    engine._task = asyncio.create_task(dies())
    await asyncio.wait([relay._task, engine._task])
    caplog.set_level(logging.ERROR)
    await relay.stop()  # neither raises: `hub worker` exits 0 on SIGTERM
    await engine.stop()
    logged = [r.getMessage() for r in caplog.records]
    assert logged == ["the relay had failed", "the SLA timers had failed"]
