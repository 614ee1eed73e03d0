"""Turning stored events into wire frames (serialised once, sent to many)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from functools import cache, cached_property
from typing import Any

import orjson
from sqlalchemy import Connection, Row, Select, bindparam, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cases.models import Case, CaseEvent
from hub.cases.queries import VIEW_COLUMNS, case_view
from hub.clock import SHANGHAI
from hub.realtime.wire import encode_text


@dataclass(frozen=True)
class Frame:
    """One positioned event ready for fan-out: the routing keys and the encoded text."""

    position: int
    case: dict[str, Any]
    text: str
    committed_at: datetime

    @cached_property
    def wire(self) -> bytes:
        """The websocket frame's bytes, framed once for all of this process's sockets."""
        return encode_text(self.text)


@dataclass(slots=True)
class StoredEvent:
    """An event read as a plain row: the relay and replays read thousands, and building
    ORM objects for them cost more than everything else they do."""

    id: int
    case_id: int
    seq: int
    type: str
    actor: str
    at: datetime
    payload: dict[str, Any]
    position: int | None


_EVENTS = CaseEvent.__table__  # type: ignore[attr-defined]
_CASES = Case.__table__  # type: ignore[attr-defined]
_COLUMNS = [_EVENTS.c[f.name] for f in fields(StoredEvent)]
_VIEWED = [_CASES.c[name] for name in VIEW_COLUMNS]  # not the ladder's JSON, say
_CASE_VIEWS = select(*_VIEWED).where(_CASES.c.id.in_(bindparam("ids", expanding=True)))


async def _stored(session: AsyncSession, stmt: Select[Any]) -> list[StoredEvent]:
    conn = await session.connection()
    return await conn.run_sync(_stored_sync, stmt)


def _stored_sync(conn: Connection, stmt: Select[Any]) -> list[StoredEvent]:
    return [StoredEvent(*row) for row in conn.execute(stmt)]


async def unpositioned(session: AsyncSession, *, limit: int) -> list[StoredEvent]:
    """Committed events still waiting for a stream position, oldest first."""
    conn = await session.connection()
    return await conn.run_sync(unpositioned_sync, limit=limit)


def unpositioned_sync(conn: Connection, *, limit: int) -> list[StoredEvent]:
    return _stored_sync(conn, _unpositioned(limit))


@cache
def _unpositioned(limit: int) -> Select[Any]:
    # Built once per limit: the statement and its cache key cost more than running it.
    stmt = select(*_COLUMNS).where(_EVENTS.c.position.is_(None)).order_by(_EVENTS.c.id)
    return stmt.limit(limit)


def event_view(event: StoredEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "case_id": event.case_id,
        "seq": event.seq,
        "type": event.type,
        "actor": event.actor,
        "at": event.at.astimezone(SHANGHAI).isoformat(),
        "payload": event.payload,
    }


async def frames_for(
    session: AsyncSession, events: Sequence[StoredEvent], now: datetime
) -> list[Frame]:
    conn = await session.connection()
    return await conn.run_sync(frames_for_sync, events, now)


def frames_for_sync(conn: Connection, events: Sequence[StoredEvent], now: datetime) -> list[Frame]:
    """Frames for positioned events, in position order. The case is attached as stored
    now: its version tells a client whether it is newer than what it has."""
    ids = {e.case_id for e in events}
    cases: dict[int, Row[Any]] = {}
    if ids:
        for row in conn.execute(_CASE_VIEWS, {"ids": list(ids)}):
            cases[row.id] = row
    frames = []
    views: dict[int, dict[str, Any]] = {}  # one view per case, shared by its events' frames
    for event in sorted(events, key=lambda e: e.position or 0):
        assert event.position is not None
        view = views.get(event.case_id)
        if view is None:
            view = views[event.case_id] = case_view(cases[event.case_id], now)
        # Encoded once for every socket it goes to; the shape is `protocol.EventFrame`.
        text = orjson.dumps(
            {"type": "event", "position": event.position, "event": event_view(event), "case": view}
        ).decode()
        frames.append(Frame(event.position, view, text, event.at))
    return frames


async def events_between(
    session: AsyncSession, after: int, upto: int, *, limit: int = 1000
) -> list[StoredEvent]:
    position = _EVENTS.c.position
    stmt = select(*_COLUMNS).where(position > after, position <= upto).order_by(position)
    return await _stored(session, stmt.limit(limit))
