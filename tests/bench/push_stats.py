"""The live-push benchmark's arithmetic: who should have got what, what was lost, latency."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tests.bench.push_clients import Collected
from tests.bench.push_load import Sent

Result = dict[str, Any]
# A case's receivers: the region sockets (walls, consoles) and the assignee's inbox socket.
Receivers = Callable[[Sent], tuple[Sequence[int], int | None]]


def summary(values_s: Iterable[float]) -> Result:
    """p50 / p99 / max in milliseconds (nearest rank)."""
    v = sorted(values_s)
    if not v:
        return {"n": 0, "p50_ms": None, "p99_ms": None, "max_ms": None}

    def rank(q: float) -> float:
        return round(1000 * v[max(0, math.ceil(q * len(v)) - 1)], 2)

    return {"n": len(v), "p50_ms": rank(0.50), "p99_ms": rank(0.99), "max_ms": rank(1.0)}


def analyse(
    sends: Sequence[Sent],
    receivers: Receivers,
    events: dict[int, int],
    got: Collected,
    *,
    measured_from: float,
    tolerate_closed: frozenset[int] = frozenset(),
) -> Result:
    """Every expected (socket, case) pair must have all the case's event frames. Latency:
    `created` at region sockets (create-to-screen), `dispatched` at the assignee's inbox
    (task push), and per case the last region socket's `created` (last-of-N). Cases sent
    before `measured_from` (warm-up) count for losses, not for latency. Sockets in
    `tolerate_closed` were closed by the server as slow consumers: their gaps are counted
    apart, since the protocol tells such a client to resume with `since`."""
    inf = math.inf
    arrivals: dict[tuple[int, int], list[float]] = {}
    r = got.records
    for sid, case, etype, t in zip(r.sid, r.case, r.etype, r.t, strict=True):
        a = arrivals.get((sid, case))
        if a is None:
            a = arrivals[(sid, case)] = [0.0, inf, inf]
        a[0] += 1
        if etype < 2 and t < a[1 + etype]:
            a[1 + etype] = t
    screen: list[float] = []
    task: list[float] = []
    last: list[float] = []
    lost = lost_closed = duplicates = expected_frames = incomplete_cases = 0
    for s in sends:
        if s.error is not None:
            continue
        regions, inbox = receivers(s)
        n = events.get(s.key, 0)
        measured = s.t_sched >= measured_from
        latest = 0.0
        complete = True
        for sid in (*regions, *((inbox,) if inbox is not None else ())):
            expected_frames += n
            a = arrivals.pop((sid, s.key), None)
            count = int(a[0]) if a is not None else 0
            if count < n:
                complete = False
                if sid in tolerate_closed:
                    lost_closed += n - count
                else:
                    lost += n - count
            duplicates += max(0, count - n)
            if a is None or not measured:
                continue
            if sid == inbox and a[2] < inf:
                task.append(a[2] - s.t_sent)
            elif sid != inbox and a[1] < inf:
                screen.append(a[1] - s.t_sent)
                latest = max(latest, a[1] - s.t_sent)
        if not complete:
            incomplete_cases += 1
        elif measured and regions:
            last.append(latest)
    measured_sends = [s for s in sends if s.t_sched >= measured_from and s.error is None]
    return {
        "cases_sent": len(sends),
        "cases_failed": sum(s.error is not None for s in sends),
        "errors": sorted({s.error for s in sends if s.error is not None})[:3],
        "frames_expected": expected_frames,
        "frames_received": len(r.t),
        "lost": lost,
        "lost_on_slow_consumer_sockets": lost_closed,
        "duplicates": duplicates,
        "unexpected": int(sum(a[0] for a in arrivals.values())),
        "incomplete_cases": incomplete_cases,
        "closed_sockets": len(got.closed),
        "close_codes": sorted({c for _, c in got.closed if c is not None}),
        "create_to_screen": summary(screen),
        "task_push": summary(task),
        "last_of_n": summary(last),
        "request": summary(s.t_done - s.t_sent for s in measured_sends),
        "sender_lateness": summary(max(0.0, s.t_sent - s.t_sched) for s in measured_sends),
    }


def problems_of(name: str, res: Result, *, allow_slow_closes: bool = False) -> list[str]:
    out = []
    if res["cases_failed"]:
        out.append(f"{name}: {res['cases_failed']} case requests failed: {res['errors']}")
    if res["lost"]:
        out.append(f"{name}: {res['lost']} event frames lost (of {res['frames_expected']})")
    if res["unexpected"]:
        out.append(f"{name}: {res['unexpected']} frames reached sockets that should not see them")
    if res["duplicates"]:
        out.append(f"{name}: {res['duplicates']} duplicate frames")
    if res["closed_sockets"] and not allow_slow_closes:
        out.append(f"{name}: {res['closed_sockets']} sockets closed ({res['close_codes']})")
    return out


def ratio(hub: float | None, base: float | None) -> str:
    if hub is None or base is None or base == 0:
        return "–"
    return f"{hub / base:.2f}"


def fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.1f}"


def table(rows: Sequence[tuple[str, float | None, float | None]]) -> str:
    lines = ["| figure | hub | baseline | ratio |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| {name} | {fmt(h)} | {fmt(b)} | {ratio(h, b)} |" for name, h, b in rows]
    return "\n".join(lines)
