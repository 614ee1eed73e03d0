"""The reliability runs' world: the live-push benchmark's (the demo city plus duty-desk
staff, each the only person a `BDnnn` case in their township goes to), with the desks'
catalogue entries turned into drills: limits of seconds and a short ladder, so rungs fire
during the run. Rows are written before any hub process starts."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tests.bench.push_world import BenchWorld, Inbox, Watcher, build, token
from tests.reliability.stack import SECRET
from tests.servers import PostgresServer

# Three rows per case, all of which must fire while nobody acknowledges: a warning and a
# breach on the acknowledgement, a breach on the resolution. The breaches flag the
# township (a case event, no re-routing), so a case stays in its inbox.
RUNGS = [
    {"step": "ack", "at": 0.5, "kind": "warning"},
    {"step": "ack", "at": 1.0, "kind": "breach", "actions": ["flag_township"]},
    {"step": "resolve", "at": 1.0, "kind": "breach", "actions": ["flag_township"]},
]
RUNG_EVENTS_PER_CASE = 3
ESCALATIONS_PER_CASE = 2


@dataclass(frozen=True)
class Socket:
    """A client socket to keep connected: whose token, which topic."""

    sid: int
    token: str
    kind: str  # inbox | region
    key: str | None  # region code, or None for the inbox
    staff_id: int | None  # the inbox owner's staff id


@dataclass(frozen=True)
class Reliable:
    world: BenchWorld
    inboxes: list[Inbox]  # the connected staff; every case goes to one of them
    sockets: list[Socket]
    admin_token: str


async def build_world(
    pg: PostgresServer, database: str, *, staff: int, walls: int, ack_s: int, resolve_s: int
) -> Reliable:
    pg.psql(f"CREATE DATABASE {database}")
    world = await build(pg.url(database))
    pg.psql(
        "UPDATE catalogue_entries SET "
        f"ack_within = {ack_s}, ack_unit = 'seconds', "
        f"checkin_within = {resolve_s}, checkin_unit = 'seconds', "
        f"resolve_within = {resolve_s}, resolve_unit = 'seconds', "
        f"sla = '{json.dumps({'rungs': RUNGS})}' "
        "WHERE code LIKE 'BD%'",
        database,
    )
    inboxes = world.inboxes[:: max(1, len(world.inboxes) // staff)][:staff]
    sockets = [
        Socket(i, token(b.user_id, SECRET), "inbox", None, b.staff_id)
        for i, b in enumerate(inboxes)
    ]
    for j, w in enumerate(_walls(world.watchers, walls)):
        sockets.append(
            Socket(len(inboxes) + j, token(w.user_id, SECRET), "region", w.region_code, None)
        )
    return Reliable(world, inboxes, sockets, token(world.admin_id, SECRET))


def _walls(watchers: list[Watcher], n: int) -> list[Watcher]:
    """City and county walls first (they see most), then township consoles."""
    order = {"city": 0, "county": 1, "township": 2}
    by_tier = sorted(watchers, key=lambda w: order[w.tier])
    cities = [w for w in by_tier if w.tier == "city"][: max(1, n // 5)]
    rest = [w for w in by_tier if w.tier != "city"]
    counties = [w for w in rest if w.tier == "county"][: n // 2]
    towns = [w for w in rest if w.tier == "township"]
    return (cities + counties + towns)[:n]
