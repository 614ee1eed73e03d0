"""Redis Streams bus: the relay XADDs each frame; every hub process XREADs the stream and
feeds its own gateway. Streams keep entries (unlike pub/sub), and the gateway backfills
any gap from the database, so a blip in Redis loses nothing."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

import orjson
import redis.asyncio as redis
from redis.exceptions import RedisError

from hub.realtime.bus import BusUnavailable, Deliver
from hub.realtime.frames import Frame

log = logging.getLogger(__name__)
STREAM = "hub:events"
STREAM_MAXLEN = 200_000  # approximate trim: history lives in the database, not here
READ_BLOCK_MS = 1000
READ_COUNT = 500
RETRY_S = 0.5


class RedisStreamsBus:
    def __init__(self, url: str, *, stream: str = STREAM) -> None:
        self.url = url
        self.stream = stream
        self.healthy = False
        self._client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self._reader = redis.Redis.from_url(
            url, socket_timeout=READ_BLOCK_MS / 1000 + 5, socket_connect_timeout=2
        )
        self._task: asyncio.Task[None] | None = None

    async def start(self, deliver: Deliver) -> None:
        self._task = asyncio.create_task(self._consume(deliver), name="redis-bus-consumer")

    async def publish(self, frames: list[Frame]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for frame in frames:
                    pipe.xadd(
                        self.stream,
                        {
                            "p": frame.position,
                            "t": frame.text,
                            "c": orjson.dumps(frame.case),
                            "at": frame.committed_at.isoformat(),
                        },
                        maxlen=STREAM_MAXLEN,
                        approximate=True,
                    )
                await pipe.execute()
            self.healthy = True
        except (RedisError, OSError) as exc:
            self.healthy = False
            raise BusUnavailable(str(exc)) from exc

    async def _consume(self, deliver: Deliver) -> None:
        last_id = "$"
        while True:
            try:
                if last_id == "$":
                    # Start after whatever is there now; the gateway knows its own position
                    # and reads anything older from the database.
                    newest: Any = await self._reader.xrevrange(self.stream, count=1)
                    last_id = newest[0][0].decode() if newest else "0-0"
                reply: Any = await self._reader.xread(
                    {self.stream: last_id}, count=READ_COUNT, block=READ_BLOCK_MS
                )
                self.healthy = True
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                if self.healthy:
                    log.warning("redis bus unavailable: %s", exc)
                self.healthy = False
                await asyncio.sleep(RETRY_S)
                continue
            try:
                for _stream, entries in reply or []:
                    frames = []
                    for entry_id, fields in entries:
                        last_id = entry_id.decode()
                        frames.append(
                            Frame(
                                position=int(fields[b"p"]),
                                case=orjson.loads(fields[b"c"]),
                                text=fields[b"t"].decode(),
                                committed_at=datetime.fromisoformat(fields[b"at"].decode()),
                            )
                        )
                    if frames:
                        await deliver(frames)
            except Exception:
                # The gateway reads the database to backfill a gap: when that fails (or an
                # entry is unreadable) the consumer goes on; a dead one stopped live delivery
                # for good. What was not fanned out is behind the gateway's position, so the
                # next delivery backfills it from the database.
                log.exception("delivering frames from the bus failed; continuing")
                await asyncio.sleep(RETRY_S)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("the bus consumer had failed")
        await self._client.aclose()
        await self._reader.aclose()
