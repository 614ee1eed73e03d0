"""`hub worker`: the SLA timers and the outbox relay in a process of their own. Run as
many as you like against one PostgreSQL: each deadline still fires exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from prometheus_client import start_http_server

from hub import logs
from hub.config import Settings
from hub.db import Database, background_work
from hub.deps import Hub
from hub.outbox.runner import ConsumerRunner, default_consumers
from hub.realtime.runtime import Realtime
from hub.sla.engine import SlaEngine

log = logging.getLogger(__name__)


async def run_worker(
    settings: Settings, *, worker_id: str | None = None, metrics_port: int | None = None
) -> int:
    logs.configure(settings.log_level, settings.log_format)
    hub = Hub(settings=settings, db=Database(settings.database_url))
    if metrics_port is not None:
        start_http_server(metrics_port, registry=hub.metrics.registry)
    # The relay numbers and publishes what the timers commit (and anything a crashed
    # web process left behind); sockets are served by `hub serve`, not here.
    hub.realtime = Realtime(hub.db, hub.metrics, settings.bus_url, clock=hub.clock)
    await hub.realtime.start()
    engine = hub.sla = SlaEngine(hub, worker_id=worker_id)
    consumers = ConsumerRunner(hub.db, hub.clock, default_consumers())
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        with background_work():
            await engine.start()
            consumers.start()
        gc.freeze()  # as `hub serve` does: long-lived objects out of the full collections
        if settings.log_format == "json":
            log.info("hub worker %s: timers running", engine.worker_id)
        else:
            print(f"hub worker {engine.worker_id}: timers running", flush=True)
        await stop.wait()
    finally:
        with contextlib.suppress(Exception):
            await engine.stop()
        await consumers.stop()
        await hub.realtime.stop()
        await hub.aclose()
    print(f"hub worker {engine.worker_id}: stopped", flush=True)
    return 0
