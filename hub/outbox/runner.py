"""Runs the consumers of committed events in a process: each steps until it is up to
date, then waits to be woken (after a commit) or for the poll interval, which catches
what other processes committed. Started next to the SLA timers (`hub worker`, or `hub
serve` with the timers in process); any number of processes may run it at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

from hub.assessment.projection import AssessmentProjection
from hub.clock import Clock
from hub.db import Database
from hub.outage import is_outage
from hub.outbox.consumer import EventConsumer, step
from hub.outbox.escalations import EscalationAudit

log = logging.getLogger(__name__)
POLL_S = 1.0
RETRY_S = 2.0


def default_consumers() -> list[EventConsumer]:
    """Every consumer the hub runs. A new one is a module with a class like
    `EscalationAudit` and a line here (docs/architecture.md, "Adding a consumer")."""
    return [EscalationAudit(), AssessmentProjection()]


class ConsumerRunner:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        consumers: Sequence[EventConsumer],
        *,
        poll_s: float = POLL_S,
    ) -> None:
        self.db, self.clock, self.consumers, self.poll_s = db, clock, list(consumers), poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="event-consumers")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def poke(self) -> None:
        self._wake.set()

    async def run_once(self) -> int:
        """Step every consumer until it is up to date; returns the events scanned."""
        total = 0
        for consumer in self.consumers:
            while n := await step(self.db, consumer, self.clock.now()):
                total += n
        return total

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except Exception as exc:
                if not is_outage(exc):
                    log.exception("an event consumer failed; retrying")
                await asyncio.sleep(RETRY_S)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
