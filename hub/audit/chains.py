"""Re-checking every case's hash chain against what is stored."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from hub.audit.chain import Break, Link, check_case
from hub.audit.models import AuditEntry
from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import event_hash
from hub.db import Database

BATCH_CASES = 500


@dataclass
class VerifyReport:
    cases: int = 0
    events: int = 0
    breaks: list[Break] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.breaks


def link_of(event: CaseEvent) -> Link:
    return Link(event.case_id, event.seq, event.hash, event.prev_hash, event_hash(event))


async def verify_chains(
    db: Database, *, progress: Callable[[VerifyReport], None] | None = None
) -> VerifyReport:
    report = VerifyReport()
    last_id = 0
    while True:
        async with db.read() as session:
            cases = (
                await session.exec(
                    select(Case.id, Case.version, Case.event_head)
                    .where(col(Case.id) > last_id)
                    .order_by(col(Case.id))
                    .limit(BATCH_CASES)
                )
            ).all()
            if not cases:
                break
            ids = [c[0] for c in cases]
            # Stored order is by primary key, not seq: a reordering shows as a seq jump.
            events = (
                await session.exec(
                    select(CaseEvent)
                    .where(col(CaseEvent.case_id).in_(ids))
                    .order_by(col(CaseEvent.case_id), col(CaseEvent.id))
                )
            ).all()
        by_case: dict[int, list[Link]] = defaultdict(list)
        for event in events:
            by_case[event.case_id].append(link_of(event))
        for case_id, version, head in cases:
            assert case_id is not None
            links = by_case.get(case_id, [])
            broken = check_case(links, head=head, version=version)
            if broken is not None:
                report.breaks.append(Break(case_id, broken.seq, broken.reason))
            report.cases += 1
            report.events += len(links)
        last_id = ids[-1] or last_id
        if progress is not None:
            progress(report)
    return report


async def record(
    db: Database,
    *,
    kind: str,
    at: datetime,
    username: str | None = None,
    user_id: int | None = None,
    address: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write an audit entry in its own transaction, so a denied or failed request (whose
    own transaction rolled back) still leaves its trace."""
    async with db.transaction() as session:
        session.add(
            AuditEntry(
                at=at,
                kind=kind,
                username=username,
                user_id=user_id,
                address=address,
                detail=detail or {},
            )
        )
