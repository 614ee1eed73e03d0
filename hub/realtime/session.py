"""A subscription's cut-over: register, replay or snapshot, then release held live frames."""

from __future__ import annotations

from hub.deps import Hub
from hub.errors import HubError
from hub.realtime.frames import events_between, frames_for
from hub.realtime.gateway import Connection
from hub.realtime.protocol import (
    ErrorFrame,
    ResyncFrame,
    SnapshotFrame,
    SubscribedFrame,
    SubscribeMsg,
    TasksFrame,
)
from hub.realtime.subscribe import Grant, authorize, pending_tasks, snapshot

# How far back a client may resume from the stream; further behind, it gets a snapshot.
RESUME_WINDOW_POSITIONS = 50_000
REPLAY_PAGE = 1000


async def subscribe(hub: Hub, conn: Connection, msg: SubscribeMsg) -> None:
    assert hub.realtime is not None
    gateway = hub.realtime.gateway
    grants: list[Grant] = []
    async with hub.db.read() as session:
        for topic in msg.topics:
            try:
                grants.append(await authorize(session, conn.user, topic))
            except HubError as exc:
                gateway.send(
                    conn, ErrorFrame(code=exc.code, message=exc.message).model_dump_json(), "error"
                )
                return
    async with gateway.lock:
        head = gateway.last_seen
        conn.buffer = []
        for grant in grants:
            region = grant.region
            gateway.watch(
                conn,
                region=(region.id, region.tier.value, region.code)
                if region is not None and region.id is not None
                else None,
                case_id=grant.case_id,
                department_id=grant.department_id,
                inbox=grant.topic.kind == "inbox",
            )
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
        await _snapshots(hub, conn, grants, head)
    if conn.inbox:
        async with hub.db.read() as session:
            tasks = await pending_tasks(session, conn.user, hub.clock.now())
        gateway.send(conn, TasksFrame(position=head, tasks=tasks).model_dump_json(), "tasks")
    async with gateway.lock:
        held, conn.buffer = conn.buffer or [], None
        for frame in held:
            if frame.position > head:
                gateway.send(conn, frame.text, "event")
    await hub.realtime.send_counters(conn, set(conn.regions))


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


async def _snapshots(hub: Hub, conn: Connection, grants: list[Grant], head: int) -> None:
    assert hub.realtime is not None
    now = hub.clock.now()
    async with hub.db.read() as session:
        for grant in grants:
            if grant.topic.kind == "inbox":
                continue
            cases, truncated = await snapshot(session, conn.user, grant, now)
            frame = SnapshotFrame(
                position=head, topic=grant.topic, cases=cases, truncated=truncated
            )
            hub.realtime.gateway.send(conn, frame.model_dump_json(), "snapshot")
