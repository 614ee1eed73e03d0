"""What one action sees while it changes a case: the transaction, the caller, the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.service import Principal
from hub.cases.events import EventType
from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import new_event
from hub.deps import Hub
from hub.dispatch.reference import Reference


@dataclass
class Ctx:
    hub: Hub
    session: AsyncSession | None  # None while a new case is built for the writer
    actor: Principal
    case: Case
    now: datetime
    before: dict[str, Any]
    ref: Reference
    # A new case collects its events here and is written with them in one go; an
    # existing case is tracked by the session, which writes its change and events.
    pending: list[CaseEvent] | None = None

    def record(self, type: EventType, payload: dict[str, Any] | None = None) -> CaseEvent:
        event, self.before = new_event(
            self.case,
            before=self.before,
            type=type,
            actor_id=self.actor.user_id,
            actor=self.actor.actor,
            at=self.now,
            payload=payload,
            detached=self.pending is not None,
        )
        if self.pending is not None:
            self.pending.append(event)
        else:
            assert self.session is not None
            self.session.add(self.case)
            self.session.add(event)
        return event
