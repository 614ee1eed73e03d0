"""A subscription's cut-over: register, replay or snapshot, then release held live frames."""

from __future__ import annotations

import contextlib

from hub.db import Busy
from hub.deps import Hub
from hub.errors import HubError
from hub.realtime.frames import events_between, frames_for
from hub.realtime.gateway import Connection, Gateway
from hub.realtime.protocol import (
    ErrorFrame,
    ResyncFrame,
    SubscribedFrame,
    SubscribeMsg,
    TasksFrame,
)
from hub.realtime.subscribe import Grant, authorize, pending_tasks

# How far back a client may resume from the stream; further behind, it gets a snapshot.
RESUME_WINDOW_POSITIONS = 50_000
REPLAY_PAGE = 1000


def _error(gateway: Gateway, conn: Connection, exc: HubError) -> None:
    gateway.send(conn, ErrorFrame(code=exc.code, message=exc.message).model_dump_json(), "error")


async def subscribe(hub: Hub, conn: Connection, msg: SubscribeMsg) -> None:
    """Subscribe `conn` to `msg.topics`. Refused (an `error` frame, nothing watched) if a
    topic is not the caller's to watch, or if the database stayed busy too long (`busy`:
    the client subscribes again)."""
    assert hub.realtime is not None
    gateway = hub.realtime.gateway
    grants: list[Grant] = []
    try:
        # Admission (see hub/realtime/views.py) for the queries only: waiting for a shared
        # snapshot takes no turn, so everyone waiting meanwhile still shares it.
        async with hub.realtime.admission, hub.db.read() as session:
            # The same topic twice is one topic.
            for topic in {(t.kind, t.key): t for t in msg.topics}.values():
                grants.append(await authorize(session, conn.user, topic))
    except HubError as exc:
        _error(gateway, conn, exc)
        return
    # The cut-over's two steps run without a pause, so they need no lock: between any two
    # pauses of a delivery every frame up to `last_seen` has been fanned out (see
    # Gateway.deliver), so each later one goes to `buffer`. (Under the gateway's lock, a
    # thousand walls subscribing at once queued every delivery behind them all.)
    head = gateway.last_seen
    conn.buffer = []
    for grant in grants:
        _watch(gateway, conn, grant)
    ticket = hub.realtime.snapshots.ticket()
    try:
        await _cut_over(hub, conn, msg, grants, head, ticket)
    except Busy as exc:
        conn.buffer = None
        for grant in grants:
            _watch(gateway, conn, grant, drop=True)
        _error(gateway, conn, exc)
        return
    held, conn.buffer = conn.buffer or [], None
    for frame in held:
        if frame.position > head:
            gateway.send(conn, frame.text, "event")
    # Busy: the next push (half a second after anything in the region changes) has them.
    with contextlib.suppress(Busy):
        await hub.realtime.send_counters(conn, set(conn.regions))


def _watch(gateway: Gateway, conn: Connection, grant: Grant, *, drop: bool = False) -> None:
    region = grant.region
    region_id = region.id if region is not None else None
    inbox = grant.topic.kind == "inbox"
    if drop:
        gateway.unwatch(
            conn,
            region_id=region_id,
            case_id=grant.case_id,
            department_id=grant.department_id,
            inbox=inbox,
        )
        return
    gateway.watch(
        conn,
        region=(region_id, region.tier.value, region.code)
        if region is not None and region_id is not None
        else None,
        case_id=grant.case_id,
        department_id=grant.department_id,
        inbox=inbox,
    )


async def _cut_over(
    hub: Hub, conn: Connection, msg: SubscribeMsg, grants: list[Grant], head: int, ticket: int
) -> None:
    assert hub.realtime is not None
    gateway = hub.realtime.gateway
    resumable = msg.since is not None and 0 <= head - msg.since <= RESUME_WINDOW_POSITIONS
    mode = "resume" if resumable else "snapshot"
    gateway.send(
        conn,
        SubscribedFrame(topics=msg.topics, mode=mode, position=head).model_dump_json(),
        "subscribed",
    )
    if resumable:
        assert msg.since is not None
        await _replay(hub, conn, msg.since, head)
    else:
        if msg.since is not None:
            gateway.send(
                conn,
                ResyncFrame(
                    reason="further behind than the retained history"
                    if msg.since < head
                    else "position from the future",
                    position=head,
                ).model_dump_json(),
                "resync",
            )
        for grant in grants:
            if grant.topic.kind != "inbox":
                snap = await hub.realtime.snapshots.get(conn.user, grant, ticket)
                await gateway.send_snapshot(conn, snap, head)
    if conn.inbox:
        async with hub.db.read() as session:
            tasks = await pending_tasks(session, conn.user, hub.clock.now())
        gateway.send(conn, TasksFrame(position=head, tasks=tasks).model_dump_json(), "tasks")


async def _replay(hub: Hub, conn: Connection, since: int, head: int) -> None:
    assert hub.realtime is not None
    after = since
    while after < head and not conn.closed:
        async with hub.db.read() as session:
            events = await events_between(session, after, head, limit=REPLAY_PAGE)
            frames = await frames_for(session, events, hub.clock.now())
        if not frames:
            break
        for frame in frames:
            if conn.wants(frame.case):
                hub.realtime.gateway.send(conn, frame.text, "event")
        after = frames[-1].position
