from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from hub.auth.cache import PrincipalCache
from hub.auth.ratelimit import RateLimits
from hub.cases.writer import CaseWriter
from hub.clock import Clock, SystemClock
from hub.config import Settings
from hub.db import Database
from hub.dispatch.reference import ReferenceCache
from hub.metrics import Metrics
from hub.sla.calendar import WorkCalendar, parse_windows

if TYPE_CHECKING:
    from hub.realtime.relay import Relay
    from hub.realtime.runtime import Realtime
    from hub.sla.engine import SlaEngine


@dataclass
class Hub:
    """Everything a request or worker needs, built once in the lifespan."""

    settings: Settings
    db: Database
    clock: Clock = field(default_factory=SystemClock)
    calendar: WorkCalendar = field(default_factory=WorkCalendar)
    metrics: Metrics = field(default_factory=Metrics)
    limits: RateLimits = field(init=False)
    realtime: Realtime | None = None  # started by the app's lifespan (or a worker)
    sla: SlaEngine | None = None  # the timers, when they run in this process

    reference: ReferenceCache = field(init=False)
    principals: PrincipalCache = field(init=False)
    writer: CaseWriter = field(init=False)

    def __post_init__(self) -> None:
        if self.calendar.windows != (windows := parse_windows(self.settings.work_hours)):
            self.calendar = WorkCalendar(windows=windows)
        self.limits = RateLimits(self.settings, self.clock)
        self.reference = ReferenceCache(self.db, self.calendar, self.clock)
        self.principals = PrincipalCache(monotonic=self.clock.monotonic)
        self.writer = CaseWriter(self.db, self.committed, self.outbox)

    async def aclose(self) -> None:
        await self.writer.stop()
        await self.db.dispose()

    def committed(self) -> None:
        """Events were just committed: let the relay number and publish them now."""
        if self.realtime is not None:
            self.realtime.poke()
        # The timers are not poked: they look at least every `sla_poll_s` anyway, and
        # waking them on every commit cost each request a query of theirs.

    def outbox(self) -> Relay | None:
        """The relay that numbers new cases' events in the case writer's transactions: on
        a SQLite file, where every write holds the one lock anyway. Elsewhere (PostgreSQL)
        numbering stays the relay's own short transaction, so that writers of several
        processes do not queue on the stream's row for the whole of their inserts."""
        if self.realtime is None or not self.db.has_writer_thread:
            return None
        return self.realtime.relay


async def get_hub(request: Request) -> Hub:
    # async on purpose: FastAPI runs a plain `def` dependency in its thread pool, a hop
    # to another thread and back on every request for what is an attribute read.
    hub: Hub = request.app.state.hub
    return hub


HubDep = Annotated[Hub, Depends(get_hub)]
