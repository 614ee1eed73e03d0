"""The bus carries positioned frames from the relay to every hub process's gateway.
In process (`memory://`, the embedded default) or Redis Streams (`redis://…`)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from hub.realtime.frames import Frame

Deliver = Callable[[list[Frame]], Awaitable[None]]


class BusUnavailable(Exception):
    pass


class Bus(Protocol):
    healthy: bool

    async def start(self, deliver: Deliver) -> None: ...

    async def publish(self, frames: list[Frame]) -> None: ...

    async def stop(self) -> None: ...


class MemoryBus:
    """One process: publishing is handing the frames to this process's gateway."""

    def __init__(self) -> None:
        self.healthy = True
        self._deliver: Deliver | None = None

    async def start(self, deliver: Deliver) -> None:
        self._deliver = deliver

    async def publish(self, frames: list[Frame]) -> None:
        if self._deliver is not None:
            await self._deliver(frames)

    async def stop(self) -> None:
        self._deliver = None


def make_bus(url: str) -> Bus:
    if url.startswith("memory://"):
        return MemoryBus()
    if url.startswith(("redis://", "rediss://", "unix://")):
        from hub.realtime.redis_bus import RedisStreamsBus

        return RedisStreamsBus(url)
    raise ValueError(f"unknown bus URL {url!r}: use memory:// or redis://host:port/db")
