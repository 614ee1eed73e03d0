"""What a reliability run verifies afterwards, read straight from PostgreSQL (psql) and
from what the clients recorded. Each check returns its figures and a list of problems;
any problem makes the run fail."""

from __future__ import annotations

import bisect
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from tests.reliability.clients import Seen
from tests.reliability.load import Write
from tests.reliability.stack import ROOT
from tests.reliability.world import ESCALATIONS_PER_CASE, RUNG_EVENTS_PER_CASE, Socket
from tests.servers import PostgresServer

RUNG_TYPES = "('sla_warning', 'sla_breach', 'sla_overdue')"


@dataclass
class Verdict:
    figures: dict[str, Any] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, other: Verdict) -> None:
        self.figures.update(other.figures)
        self.problems += other.problems


def _rows(pg: PostgresServer, db: str, sql: str) -> list[list[str]]:
    return [line.split("|") for line in pg.psql(sql, db).splitlines() if line]


def _one(pg: PostgresServer, db: str, sql: str) -> int:
    return int(pg.psql(sql, db).strip() or 0)


def backlogs(pg: PostgresServer, db: str) -> dict[str, int]:
    """Outbox and timer backlogs: each must be 0 once the run has drained."""
    return {
        "events_without_position": _one(
            pg, db, "SELECT count(*) FROM case_events WHERE position IS NULL"
        ),
        "numbered_not_published": _one(
            pg, db, "SELECT last_position - published_position FROM stream_state"
        ),
        "due_deadlines_not_fired": _one(
            pg,
            db,
            "SELECT count(*) FROM sla_deadlines WHERE status = 'pending' AND fire_at < now()",
        ),
        "deadlines_failed": _one(
            pg, db, "SELECT count(*) FROM sla_deadlines WHERE status = 'failed'"
        ),
    }


def writes(pg: PostgresServer, db: str, title: str, sent: list[Write]) -> Verdict:
    """Every acknowledged create is a case with a gap-free, fully numbered timeline; no
    retry made a second case."""
    v = Verdict()
    acked = [w for w in sent if w.case_id is not None]
    v.figures["cases_requested"] = len(sent)
    v.figures["cases_acknowledged"] = len(acked)
    v.figures["cases_never_acknowledged"] = len(sent) - len(acked)
    v.figures["attempts"] = sum(w.attempts for w in sent)
    for w in sent:
        if len(w.ids_seen) > 1:
            v.problems.append(f"write {w.k}: retries answered different cases {w.ids_seen}")
    rows = _rows(
        pg,
        db,
        "SELECT c.id, c.title, count(e.id), min(e.seq), max(e.seq),"
        " count(e.position), bool_or(e.type = 'created'), bool_or(e.type = 'dispatched')"
        f" FROM cases c LEFT JOIN case_events e ON e.case_id = c.id"
        f" WHERE c.title LIKE '{title} %' GROUP BY c.id, c.title",
    )
    by_id = {int(r[0]): r for r in rows}
    titles = Counter(r[1] for r in rows)
    v.figures["cases_in_database"] = len(rows)
    dupes = [t for t, n in titles.items() if n > 1]
    if dupes:
        v.problems.append(f"{len(dupes)} titles created twice, e.g. {dupes[:3]}")
    lost = [w.k for w in acked if w.case_id not in by_id]
    v.figures["acknowledged_writes_lost"] = len(lost)
    if lost:
        v.problems.append(f"{len(lost)} acknowledged cases missing, e.g. writes {lost[:5]}")
    broken = []
    for w in acked:
        r = by_id.get(w.case_id or 0)
        if r is None:
            continue
        n, lo, hi, numbered = int(r[2]), int(r[3]), int(r[4]), int(r[5])
        if (lo, hi) != (1, n) or numbered != n or r[6] != "t" or r[7] != "t":
            broken.append(w.case_id)
    v.figures["cases_with_incomplete_events"] = len(broken)
    if broken:
        v.problems.append(f"{len(broken)} cases with gaps or unnumbered events: {broken[:5]}")
    unacked_present = [w.k for w in sent if w.case_id is None and f"{title} {w.k}" in titles]
    v.figures["unacknowledged_but_written"] = len(unacked_present)  # allowed: reply lost
    return v


def rungs(pg: PostgresServer, db: str, title: str) -> Verdict:
    """Every case's deadline rows fired exactly once: one rung event per row, none
    without one. Every case the run made counts, acknowledged to the client or not."""
    v = Verdict()
    scope = f"c.title LIKE '{title} %'"
    cases = _one(pg, db, f"SELECT count(*) FROM cases c WHERE {scope}")
    status = _rows(
        pg,
        db,
        "SELECT d.status, count(*) FROM sla_deadlines d JOIN cases c ON c.id = d.case_id"
        f" WHERE {scope} GROUP BY d.status",
    )
    by_status = {s: int(n) for s, n in status}
    v.figures["deadline_rows"] = by_status
    expected_rows = cases * RUNG_EVENTS_PER_CASE
    fired = by_status.get("fired", 0)
    if sum(by_status.values()) != expected_rows or fired != expected_rows:
        v.problems.append(f"deadline rows {by_status}, expected {expected_rows} all fired")
    per_row = _rows(
        pg,
        db,
        "SELECT e.payload->>'deadline_id', count(*) FROM case_events e"
        f" JOIN cases c ON c.id = e.case_id WHERE {scope} AND e.type IN {RUNG_TYPES}"
        " GROUP BY 1",
    )
    twice = [d for d, n in per_row if int(n) > 1]
    v.figures["rung_events"] = sum(int(n) for _, n in per_row)
    v.figures["duplicate_rungs"] = len(twice)
    missed = _one(
        pg,
        db,
        "SELECT count(*) FROM sla_deadlines d JOIN cases c ON c.id = d.case_id"
        f" WHERE {scope} AND d.status = 'fired' AND NOT EXISTS (SELECT 1 FROM case_events e"
        f" WHERE e.case_id = d.case_id AND e.type IN {RUNG_TYPES}"
        " AND e.payload->>'deadline_id' = d.id::text)",
    )
    v.figures["missed_rungs"] = missed + max(0, expected_rows - fired)
    escalations = _one(
        pg,
        db,
        "SELECT count(*) FROM case_events e JOIN cases c ON c.id = e.case_id"
        f" WHERE {scope} AND e.type = 'sla_escalation'",
    )
    v.figures["escalation_events"] = escalations
    if twice:
        v.problems.append(f"{len(twice)} deadline rows fired more than once: {twice[:5]}")
    if missed:
        v.problems.append(f"{missed} rows marked fired without their rung event")
    if escalations != cases * ESCALATIONS_PER_CASE:
        v.problems.append(
            f"{escalations} escalation events, expected {cases * ESCALATIONS_PER_CASE}"
        )
    return v


def expected_streams(pg: PostgresServer, db: str) -> list[tuple[int, str, int | None]]:
    """Every numbered event: (position, the case's grid code, its assigned staff id)."""
    rows = _rows(
        pg,
        db,
        "SELECT e.position, r.code, c.assigned_staff_id FROM case_events e"
        " JOIN cases c ON c.id = e.case_id JOIN regions r ON r.id = c.grid_id"
        " WHERE e.position IS NOT NULL ORDER BY e.position",
    )
    return [(int(p), code, int(s) if s else None) for p, code, s in rows]


class Streams:
    """Every numbered event's position by topic: region code prefix or staff id."""

    def __init__(self, stream: list[tuple[int, str, int | None]], sockets: list[Socket]) -> None:
        self.last = stream[-1][0] if stream else 0
        keys = {s.key or "" for s in sockets if s.kind == "region"}
        self.region: dict[str, list[int]] = {k: [] for k in keys}
        self.inbox: dict[int | None, list[int]] = {}
        for pos, code, staff in stream:
            self.inbox.setdefault(staff, []).append(pos)
            for k in keys:
                if code.startswith(k):
                    self.region[k].append(pos)

    def wanted(self, sock: Socket, after: int) -> list[int]:
        whole = (
            self.inbox.get(sock.staff_id, [])
            if sock.kind == "inbox"
            else self.region[sock.key or ""]
        )
        return whole[bisect.bisect_right(whole, after) :]


def lagging(
    sockets: list[Socket], progress: dict[int, tuple[int | None, int | None, int]], streams: Streams
) -> int:
    """How many sockets do not yet have as many events as they should (a quick look)."""
    behind = 0
    for sock in sockets:
        first, _last, n = progress.get(sock.sid, (None, None, 0))
        if first is None or n < len(streams.wanted(sock, first)):
            behind += 1
    return behind


def converged(
    sockets: list[Socket], seen: dict[int, Seen], streams: Streams
) -> tuple[int, list[str]]:
    """(sockets that have exactly their events, in order, no resync; per-socket problems)."""
    ok, problems = 0, []
    for sock in sockets:
        s = seen.get(sock.sid)
        if s is None or s.first_head is None:
            problems.append(f"socket {sock.sid}: never subscribed")
            continue
        got = list(s.pos)
        skipped = {p for lo, hi in s.resyncs for p in range(lo + 1, hi + 1)}
        want = [p for p in streams.wanted(sock, s.first_head) if p not in skipped]
        if got == want and not s.resyncs:
            ok += 1
            continue
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        problems.append(
            f"socket {sock.sid} ({sock.kind} {sock.key or ''}): {len(got)} events, "
            f"{len(want)} wanted, missing {len(missing)} {missing[:3]}, "
            f"unexpected {len(extra)} {extra[:3]}, resyncs {s.resyncs[:2]}; "
            f"last applied {s.last}, connects {s.connects}, closes {s.close_codes}, "
            f"{'open on' if s.open else 'last on'} {s.addr}, "
            f"subscribed {s.modes[-3:]}, last frame at {s.last_frame_t:.1f} (monotonic)"
        )
    return ok, problems


def audit_verify(env: dict[str, str]) -> tuple[bool, str]:
    out = subprocess.run(
        [sys.executable, "-m", "hub.cli", "audit", "verify"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    return out.returncode == 0, (out.stdout.strip().splitlines() or ["(no output)"])[-1]
