"""The timer worker: claims due deadline rows and fires each exactly once.

Exactly once, with any number of workers and crashes at any point:
- a claim takes due rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite has a single
  writer) and stamps them with this worker's token and a lease;
- firing re-reads the rows under a row lock and fires only those still pending *and*
  still carrying our token, so a worker whose lease ran out fires nothing; the case's
  change, its events and the row's `fired` mark commit together (or not at all);
- everything leaves the process through the outbox after commit.
A worker killed after claiming leaves rows that any worker takes again when the lease
ends. APScheduler only drives the periodic jobs (auditor, gauges): the deadlines live in
the database, never in a scheduler's job store."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import ColumnElement, func, or_, update
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from hub.auth.models import User
from hub.auth.principal import Principal
from hub.cases.models import Case
from hub.cases.unit import unit_of_work
from hub.outage import is_outage
from hub.ports import Services
from hub.sla.actions import fire_rung
from hub.sla.arming import ladder_of, planned_for, sync_cases
from hub.sla.auditor import audit_open_cases
from hub.sla.calendar import WorkCalendar
from hub.sla.ladder import Rung
from hub.sla.models import SLA_USER, Deadline, DeadlineStatus
from hub.sla.reminders import flag_unassessed

log = logging.getLogger(__name__)
COALESCE_S = 0.05  # lateness traded for batches: rungs due within this go together
REMIND_EVERY_S = 300  # closed whistles past their assessment limit (sla/reminders.py)


@dataclass
class Fired:
    fired: int = 0
    skipped: int = 0  # stale, lost the claim, or moved later by a corrected calendar
    failed: int = 0


class SlaEngine:
    def __init__(self, hub: Services, *, worker_id: str | None = None) -> None:
        s = hub.settings
        self.hub = hub
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self.lease = timedelta(seconds=s.sla_lease_s)
        self.poll_s = s.sla_poll_s
        self.batch = s.sla_batch
        self._principal: Principal | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._scheduler: AsyncIOScheduler | None = None
        # Told the rows that fired, after their commit (benchmarks stamp them here).
        self.on_fired: Callable[[list[Deadline]], None] | None = None

    # -- lifecycle ---------------------------------------------------------------------

    async def start(self) -> None:
        await self.principal()
        self._task = asyncio.create_task(self._loop(), name="sla-timers")
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        every = self.hub.settings.sla_audit_every_s
        self._scheduler.add_job(self.audit, "interval", seconds=every, id="sla-auditor")
        self._scheduler.add_job(self.gauges, "interval", seconds=15, id="sla-gauges")
        self._scheduler.add_job(self.remind, "interval", seconds=REMIND_EVERY_S, id="assess")
        self._scheduler.start()

    async def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
            self._scheduler = None
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:  # logged, not re-raised: shutdown (and the exit code) is clean
                log.exception("the SLA timers had failed")
            self._task = None
        # Hand back unfired claims so the next worker need not wait out the lease.
        with contextlib.suppress(Exception):
            async with self.hub.db.transaction() as session:
                await session.exec(
                    update(Deadline)
                    .where(
                        col(Deadline.claimed_by) == self.worker_id,
                        col(Deadline.status) == DeadlineStatus.PENDING,
                    )
                    .values(claim_token=None, claimed_by=None, claimed_until=None)
                )

    def poke(self) -> None:
        self._wake.set()

    async def principal(self) -> Principal:
        if self._principal is None:
            async with self.hub.db.read() as session:
                user = (await session.exec(select(User).where(User.username == SLA_USER))).one()
            assert user.id is not None
            # Built directly: the engine's user is disabled so that nobody can log in as it.
            self._principal = Principal(
                user_id=user.id,
                username=user.username,
                display_name=user.display_name,
                role=user.role,
                region_id=None,
                region_code=None,
                department_id=None,
                staff_id=None,
            )
        return self._principal

    async def _loop(self) -> None:
        while True:
            delay = self.poll_s
            try:
                # A read first: an idle hub must not open a write transaction each look.
                nxt = await self.next_due()
                if nxt is not None and nxt <= self.hub.clock.now():
                    done = await self.run_due()
                    nxt = await self.next_due()
                    if done.fired == 0 and nxt is not None and nxt <= self.hub.clock.now():
                        nxt = None  # due but claimed by another worker: look again later
                if nxt is not None:
                    ahead = (nxt - self.hub.clock.now()).total_seconds()
                    # Wake a moment after the next rung is due, so that rungs due close
                    # together go in one batch rather than one by one.
                    delay = max(0.0, min(self.poll_s, ahead + COALESCE_S))
            except Exception as exc:
                if is_outage(exc):
                    log.warning("SLA timers wait for the database: %s", exc)
                else:
                    log.exception("SLA timer tick failed; retrying")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):  # not wait_for: see Relay._run
                    await self._wake.wait()

    # -- claiming and firing -----------------------------------------------------------

    async def run_due(self) -> Fired:
        """Fire everything due now, batch by batch, until nothing claimable is left."""
        total = Fired()
        while True:
            if self.hub.db.is_sqlite:
                # One writer at a time: claiming and firing in one transaction is as safe
                # as the two-phase claim and saves a commit per batch. A batch that
                # raises goes the two-phase way, row by row.
                try:
                    done = await self._fire(None, [])
                except Exception:
                    log.warning("SLA batch failed; claiming row by row", exc_info=True)
                else:
                    if not done.fired and not done.skipped:
                        return total
                    total.fired += done.fired
                    total.skipped += done.skipped
                    continue
            token, ids = await self.claim()
            if not ids:
                return total
            done = await self.fire(token, ids)
            total.fired += done.fired
            total.skipped += done.skipped
            total.failed += done.failed

    async def claim(self) -> tuple[str, list[int]]:
        now = self.hub.clock.now()
        token = secrets.token_hex(16)
        async with self.hub.db.transaction() as session:
            stmt = (
                select(Deadline.id)
                .where(*self._due_now(now))
                .order_by(col(Deadline.fire_at))
                .limit(self.batch)
                .with_for_update(skip_locked=True)
            )
            ids = [i for i in (await session.exec(stmt)).all() if i is not None]
            if ids:
                await session.exec(
                    update(Deadline)
                    .where(col(Deadline.id).in_(ids))
                    .values(
                        claim_token=token, claimed_by=self.worker_id, claimed_until=now + self.lease
                    )
                )
        return token, ids

    def _due_now(self, now: datetime) -> list[ColumnElement[bool]]:
        """Pending, due, and not under another worker's live claim."""
        return [
            col(Deadline.status) == DeadlineStatus.PENDING,
            col(Deadline.fire_at) <= now,
            or_(col(Deadline.claimed_until).is_(None), col(Deadline.claimed_until) < now),
        ]

    def _due(self) -> SelectOfScalar[Deadline]:
        return select(Deadline).where(*self._due_now(self.hub.clock.now()))

    async def fire(self, token: str, ids: list[int]) -> Fired:
        try:
            return await self._fire(token, ids)
        except Exception as exc:
            if is_outage(exc):
                # Not the rows' fault: leave them claimed; the claim lapses after its lease
                # and they are fired then, by this worker or another (never marked failed).
                log.warning("SLA batch of %d waits for the database: %s", len(ids), exc)
                raise
            log.warning("SLA batch of %d failed; firing its rows alone", len(ids), exc_info=True)
            if len(ids) == 1:
                await self._mark_failed(token, ids[0])
                return Fired(failed=1)
            # Find the row that breaks the batch: the others still fire.
            total = Fired()
            for one in ids:
                done = await self.fire(token, [one])
                total.fired += done.fired
                total.skipped += done.skipped
                total.failed += done.failed
            return total

    async def _fire(self, token: str | None, ids: list[int]) -> Fired:
        """Fire the rows claimed with `token`; with no token (SQLite only, inside its single
        writer's transaction), the rows due now."""
        hub = self.hub
        ref = await hub.reference.get()
        principal = await self.principal()
        result = Fired()
        done: list[tuple[Deadline, Rung, float]] = []
        async with unit_of_work(hub.db, hub.committed) as unit:
            session = unit.session
            if token is None:
                stmt = self._due().order_by(col(Deadline.fire_at)).limit(self.batch)
            else:
                stmt = (
                    select(Deadline)
                    .where(
                        col(Deadline.id).in_(ids),
                        col(Deadline.claim_token) == token,
                        col(Deadline.status) == DeadlineStatus.PENDING,
                    )
                    .order_by(col(Deadline.case_id), col(Deadline.fire_at), col(Deadline.rung))
                    .with_for_update()
                )
            rows = list((await session.exec(stmt)).all())
            result.skipped = len(ids) - len(rows) if token is not None else 0
            case_ids = sorted({r.case_id for r in rows})
            cases: dict[int | None, Case] = {}
            moved: set[int] = set()
            stale: set[int] = set()
            if case_ids:
                # Cases locked in id order, so two workers' batches cannot deadlock.
                locked = select(Case).where(col(Case.id).in_(case_ids)).order_by(col(Case.id))
                cases = {c.id: c for c in (await session.exec(locked.with_for_update())).all()}
            for row in rows:
                case = cases[row.case_id]
                now = hub.clock.now()
                ladder = ladder_of(case)
                planned = {p.key: p for p in planned_for(case, ref.calendar, ladder)}
                p = planned.get((row.step, row.rung, row.started_at))
                # Not due after all: its clock stopped (also by an earlier rung of this
                # batch, say a raised whistle) or a corrected calendar moved it later.
                if ladder is None or p is None or p.fire_at > now:
                    result.skipped += 1
                    stale.add(row.case_id)
                    continue
                ctx = unit.ctx(principal, case, now, ref)
                rung = ladder.rungs[row.rung]
                clocks = clock_inputs(case)
                await fire_rung(ctx, row, rung)
                if clock_inputs(case) != clocks:
                    moved.add(row.case_id)  # e.g. a raised whistle: new clocks, new rows
                row.status, row.fired_at, row.fired_by = DeadlineStatus.FIRED, now, self.worker_id
                session.add(row)
                done.append((row, rung, (now - row.fire_at).total_seconds()))
                result.fired += 1
            if moved or stale:
                # The rows follow the cases' clocks. Most rungs only mark their case (the
                # fired row is already marked): re-planning every case cost a fifth.
                again = [cases[i] for i in sorted(moved | stale)]
                await sync_cases(session, again, ref.calendar)
        if self.on_fired is not None and done:
            self.on_fired([row for row, _, _ in done])
        m = hub.metrics
        for row, rung, late_s in done:
            m.sla_lateness.observe(max(0.0, late_s))
            m.sla_fired.labels(step=row.step, kind=rung.kind.value).inc()
            for action in rung.actions:
                m.sla_escalations.labels(step=row.step, action=action.value).inc()
        return result

    async def _mark_failed(self, token: str, deadline_id: int) -> None:
        log.exception("SLA rung %s failed to fire; marked failed", deadline_id)
        self.hub.metrics.sla_failures.inc()
        async with self.hub.db.transaction() as session:
            await session.exec(
                update(Deadline)
                .where(col(Deadline.id) == deadline_id, col(Deadline.claim_token) == token)
                .values(status=DeadlineStatus.FAILED, error="firing raised; see the worker log")
            )

    async def next_due(self) -> datetime | None:
        now = self.hub.clock.now()
        async with self.hub.db.read() as session:
            stmt = select(func.min(Deadline.fire_at)).where(
                col(Deadline.status) == DeadlineStatus.PENDING,
                or_(col(Deadline.claimed_until).is_(None), col(Deadline.claimed_until) < now),
            )
            value: datetime | None = (await session.exec(stmt)).one()
        return value

    # -- periodic jobs -----------------------------------------------------------------

    async def audit(self) -> int:
        repaired = await audit_open_cases(self.hub)
        if repaired:
            self.hub.metrics.sla_repairs.inc(repaired)
            log.warning("SLA auditor armed %d missing deadline rows", repaired)
            self.poke()
        return repaired

    async def remind(self) -> int:
        """Closed whistles past their assessment limit, flagged to the township leader."""
        flagged = await flag_unassessed(self.hub, await self.principal())
        if flagged:
            log.info("flagged %d closed whistles not assessed in time", flagged)
        return flagged

    async def gauges(self) -> None:
        async with self.hub.db.read() as session:
            stmt = select(func.count()).where(col(Deadline.status) == DeadlineStatus.PENDING)
            self.hub.metrics.sla_pending.set((await session.exec(stmt)).one())
        flag_unknown_years(self.hub, (await self.hub.reference.get()).calendar)


def flag_unknown_years(hub: Services, calendar: WorkCalendar) -> list[int]:
    """This year and next (deadlines set in December run into it): 1 on the gauge for a
    year counted weekends-only, 0 once its holidays are known. Returns the unknown ones."""
    year = hub.clock.now().year
    for y in (year, year + 1):
        calendar.knows(y)
    for y in {year, year + 1} | calendar.unknown_years:
        unknown = y in calendar.unknown_years
        hub.metrics.calendar_unknown_year.labels(year=str(y)).set(1 if unknown else 0)
    return sorted(calendar.unknown_years)


def clock_inputs(case: Case) -> tuple[object, ...]:
    """What a case's deadline rows are planned from (with the calendar)."""
    return (
        case.state,
        case.priority,
        case.dispatched_at,
        case.clock_started_at,
        case.resolved_at,
        case.sla_ladder,
    )
