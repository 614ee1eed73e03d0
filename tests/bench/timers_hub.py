"""The hub side of `make bench-timers` (tests/bench/timers.py).

PLACEHOLDER: `run_hub` is written by the SLA engine work (hub/sla/). Until then it raises
NotImplementedError and the harness reports "hub: not run".

Contract (the baseline in tests/bench/timers_baseline.py reports the same shape):

`run_hub(n, *, window_s, lead_s, restart_n, workdir) -> TimerFigures`

- It is called once, in a fresh child process of its own (`timers.hub_child`), so the
  RSS figures (/proc/self/status, see `timers_baseline.vm_mib`) are that process's own.
  It may start further processes (it has to, for the restart part).
- `workdir` is an empty directory on the same disk as the baseline's SQLite files; put the
  hub's database there. Use the hub's normal engine settings.
- Live part: arm `n` pending deadlines due evenly over [t0 + lead_s, t0 + lead_s + window_s],
  where t0 is when arming starts (`lead_s` is what the memory-store baseline gets; if the
  hub's arming is slower, take a longer lead and report the one used). Let the engine fire
  them; stamp each firing with `time.monotonic()` when its escalation is taken (preferably
  once the firing has committed: APScheduler's stamp is taken as its job function starts,
  before its job row is deleted). Lateness = firing stamp minus due time on the monotonic
  clock (map due times with one paired read of time.time()/time.monotonic(), as
  `timers_baseline.Clock` does). Count firings per deadline, from the durable record if
  possible, so that a doubled firing is seen; keep running ~2 s after the last expected one.
- Restart part: with the engine's process stopped (killed, no clean shutdown preferred),
  leave `restart_n` deadlines in the store, all of them overdue by the time a new process
  starts the engine on the same database; measure from the engine's start in that new
  process until the last of them has fired.

Keys (floats rounded as you like; counts are ints):
  required:  expected (= n), arm_s, rss_mib (VmRSS after arming minus VmRSS just before),
             lateness_p50_ms, lateness_p99_ms, lateness_max_ms (over each deadline's first
             firing), fired (distinct deadlines fired at least once), doubles (firings
             beyond the first, summed), restart_expected (= restart_n), restart_all_fired_s,
             restart_fired, restart_doubles
  optional:  arm_us_per_deadline, rss_total_mib (VmRSS after arming), peak_rss_mib,
             lead_s, window_s, arm_overran_s, left_in_store, restart_first_fired_s,
             restart_from_spawn_s, restart_overdue_at_start, restart_left_in_store,
             notes (list[str]),
             problems (list[str]: anything the hub side found wrong; fails the benchmark)
The harness fails the run when fired != expected, doubles > 0, restart_fired !=
restart_expected, restart_doubles > 0, left_in_store > 0 or problems is non-empty."""

from __future__ import annotations

from pathlib import Path

from tests.bench.timers_baseline import TimerFigures


def run_hub(
    n: int, *, window_s: float, lead_s: float, restart_n: int, workdir: Path
) -> TimerFigures:
    raise NotImplementedError("hub side: written by the SLA engine work")
