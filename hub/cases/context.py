"""What one action sees while it changes a case: the transaction, the caller, the time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.principal import Principal
from hub.cases.events import EventType
from hub.cases.models import Case, CaseEvent
from hub.cases.timeline import new_event
from hub.dispatch.reference import Reference


@dataclass
class Ctx:
    session: AsyncSession | None  # None while a new case is built for the writer
    actor: Principal
    case: Case
    now: datetime
    before: dict[str, Any]
    ref: Reference
    # The events of the unit of work (or of a new case's draft for the writer): they are
    # inserted together, as plain rows, by `unit.write_events` before commit.
    pending: list[CaseEvent]

    def record(self, type: EventType, payload: dict[str, Any] | None = None) -> CaseEvent:
        event, self.before = new_event(
            self.case,
            before=self.before,
            type=type,
            actor_id=self.actor.user_id,
            actor=self.actor.actor,
            at=self.now,
            payload=payload,
        )
        self.pending.append(event)
        if self.session is not None:
            self.session.add(self.case)  # a stored case: the session writes its change
        return event
