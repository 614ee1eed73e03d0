"""Turning stored events into wire frames (serialised once, sent to many)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.cases.models import Case, CaseEvent
from hub.cases.service import case_view
from hub.clock import SHANGHAI


@dataclass(frozen=True)
class Frame:
    """One positioned event ready for fan-out: the routing keys and the encoded text."""

    position: int
    case: dict[str, Any]
    text: str
    committed_at: datetime


def event_view(event: CaseEvent) -> dict[str, Any]:
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
    session: AsyncSession, events: Sequence[CaseEvent], now: datetime
) -> list[Frame]:
    """Frames for positioned events, in position order. The case is attached as stored
    now: its version tells a client whether it is newer than what it has."""
    ids = {e.case_id for e in events}
    cases = {c.id: c for c in (await session.exec(select(Case).where(col(Case.id).in_(ids)))).all()}
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
) -> list[CaseEvent]:
    stmt = (
        select(CaseEvent)
        .where(col(CaseEvent.position) > after, col(CaseEvent.position) <= upto)
        .order_by(col(CaseEvent.position))
        .limit(limit)
    )
    return list((await session.exec(stmt)).all())
