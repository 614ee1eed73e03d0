"""Snapshots shared between subscribers: one query and one encoding per topic and scope.

A snapshot may serve a subscriber only if its query began after that subscriber started
watching the topic (so no change can fall between the snapshot and the live frames held
back for it); the frame then carries the subscriber's own cut-over position, and the live
frames after it follow (those the snapshot already reflects are older versions, which a
client ignores). So per topic and scope at most one snapshot is computed at a time, and
every subscriber that arrives meanwhile waits for the next one, which they all share: a
thousand walls subscribing at once cost two queries, not a thousand.

Sharing is only between callers whose visible set is identical: the key holds the SQL of
the caller's scope (`case_scope`) with its values inlined, so two callers share only when
the database would be asked exactly the same question for both."""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import orjson
from sqlalchemy import Row, select

from hub.auth.principal import Principal
from hub.auth.scope import case_scope, region_clause
from hub.cases.machine import OPEN_STATES
from hub.cases.models import Case
from hub.cases.queries import VIEW_COLUMNS, case_view, wire_fields
from hub.clock import Clock
from hub.db import Database
from hub.metrics import Metrics
from hub.realtime.subscribe import Grant
from hub.realtime.wire import frame_header

# The newest open cases of a case or department topic; of a region, fewer: a wall renders
# a dozen overdue cases, a ticker of twenty and counters from the database, a console list
# 300 rows, and a city wall's snapshot went to every one of the city's walls at once.
SNAPSHOT_MAX_CASES = 2000
REGION_SNAPSHOT_MAX_CASES = 1000
# What a wall or a console list renders of a case, and what places it (its regions) and
# orders it (`version`): a region snapshot carries only these, about a third of the full
# case. Live `event` frames carry the whole case; a screen needing more (a console's detail
# pane) reads the case over REST. Documented in docs/realtime.md.
SUMMARY_FIELDS = (
    "id",
    "version",
    "title",
    "state",
    "priority",
    "category_code",
    "whistle_level",
    "grid_id",
    "community_id",
    "township_id",
    "county_id",
    "city_id",
    "department_id",
    "assigned_staff_id",
    "sla_status",
    "supervision",
    "created_at",
    "dispatched_at",
    "resolve_due_at",
    "original_resolve_due_at",  # overdue counts lateness a transfer did not erase
)
_CASES = Case.__table__  # type: ignore[attr-defined]
_SUMMARY = [_CASES.c[name] for name in SUMMARY_FIELDS]
_FULL = [_CASES.c[name] for name in VIEW_COLUMNS]
Key = tuple[str, str | None, str]


def summary_view(row: Row[Any], now: datetime) -> dict[str, Any]:
    return wire_fields(row, SUMMARY_FIELDS, now)


def scope_key(user: Principal) -> str:
    """The caller's scope as the SQL it adds to every case query, values inlined."""
    try:
        return str(case_scope(user).compile(compile_kwargs={"literal_binds": True}))
    except Exception:  # a clause that cannot be inlined: share with nobody
        return f"user:{user.user_id}"


@dataclass(frozen=True)
class Snapshot:
    """A snapshot frame minus its position: `{"type":"snapshot","position":N,` + `body`."""

    body: bytes  # '"topic":{…},"cases":[…],"truncated":…}'
    cases: int
    truncated: bool

    @cached_property
    def body_text(self) -> str:
        return self.body.decode()

    @staticmethod
    def head(position: int) -> bytes:
        return b'{"type":"snapshot","position":%d,' % position

    def text(self, position: int) -> str:
        return self.head(position).decode() + self.body_text

    def wire(self, position: int) -> tuple[bytes, bytes]:
        """The websocket frame in two parts, the second shared by every subscriber."""
        head = self.head(position)
        return frame_header(len(head) + len(self.body)) + head, self.body


class Snapshots:
    def __init__(self, db: Database, clock: Clock, metrics: Metrics) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.computed = 0  # snapshots queried and encoded (tests, the benchmark)
        self._tick = 0
        self._running: dict[Key, tuple[int, asyncio.Task[Snapshot]]] = {}
        self._queued: dict[Key, asyncio.Task[Snapshot]] = {}

    def ticket(self) -> int:
        """Take one right after a subscriber starts watching: a snapshot whose query began
        later (a larger number) may be shared with it."""
        self._tick += 1
        return self._tick

    async def get(self, user: Principal, grant: Grant, ticket: int) -> Snapshot:
        key: Key = (grant.topic.kind, grant.topic.key, scope_key(user))
        running = self._running.get(key)
        if running is not None and running[0] > ticket:
            return await asyncio.shield(running[1])
        queued = self._queued.get(key)
        if queued is None:
            previous = running[1] if running is not None else None
            queued = asyncio.ensure_future(self._after(key, previous, user, grant))
            queued.add_done_callback(_retrieve)
            self._queued[key] = queued
        # Shielded: a subscriber going away must not cancel what the others wait for.
        return await asyncio.shield(queued)

    async def _after(
        self, key: Key, previous: asyncio.Task[Snapshot] | None, user: Principal, grant: Grant
    ) -> Snapshot:
        if previous is not None:
            await asyncio.wait([previous])
        me = asyncio.current_task()
        assert me is not None
        if self._queued.get(key) is me:
            del self._queued[key]  # running now: whoever comes next waits for the next one
        self._running[key] = (self.ticket(), me)
        try:
            return await self._compute(user, grant)
        finally:
            if (entry := self._running.get(key)) is not None and entry[1] is me:
                del self._running[key]

    async def _compute(self, user: Principal, grant: Grant) -> Snapshot:
        self.computed += 1
        self.metrics.snapshots_built.inc()
        now = self.clock.now()
        region = grant.region is not None
        stmt = select(*(_SUMMARY if region else _FULL)).where(case_scope(user))
        if grant.region is not None:
            assert grant.region.id is not None
            stmt = stmt.where(
                region_clause(grant.region.tier, grant.region.id), _CASES.c.state.in_(OPEN_STATES)
            )
        elif grant.case_id is not None:
            stmt = stmt.where(_CASES.c.id == grant.case_id)
        elif grant.department_id is not None:
            stmt = stmt.where(
                _CASES.c.department_id == grant.department_id, _CASES.c.state.in_(OPEN_STATES)
            )
        limit = REGION_SNAPSHOT_MAX_CASES if region else SNAPSHOT_MAX_CASES
        stmt = stmt.order_by(_CASES.c.id.desc()).limit(limit + 1)
        async with self.db.read() as session:
            rows = (await (await session.connection()).execute(stmt)).all()
        view = summary_view if region else case_view
        cases = [view(row, now) for row in rows[:limit]]
        truncated = len(rows) > limit
        # The shape of `protocol.SnapshotFrame`, encoded once for every subscriber.
        encoded = orjson.dumps(
            {"topic": grant.topic.model_dump(), "cases": cases, "truncated": truncated}
        )
        return Snapshot(body=encoded[1:], cases=len(cases), truncated=truncated)


def _retrieve(task: asyncio.Task[Snapshot]) -> None:
    # Every waiter sees the error; this only keeps asyncio from logging it as unretrieved
    # when all of them have gone away.
    with contextlib.suppress(asyncio.CancelledError, Exception):
        task.exception()
