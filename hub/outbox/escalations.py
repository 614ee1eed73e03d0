"""The example consumer: every SLA escalation (a rung's action: the B post pushed, the
leader told, county supervision, a raised whistle) also goes on the audit log, where an
auditor lists them with `GET /api/v1/audit/log?kind=sla_escalation` without reading every
timeline. Written as a consumer, not inside the SLA engine's transaction, because it is a
projection of committed events: rebuilt from the timeline by resetting its position."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from hub.audit.models import AuditEntry
from hub.cases.events import Consumer, EventType
from hub.cases.models import CaseEvent

KIND = EventType.SLA_ESCALATION.value
_KEPT = ("step", "rung", "action", "outcome", "staff_id", "supervision", "to_level")


class EscalationAudit:
    name = Consumer.ESCALATION_AUDIT

    async def handle(self, session: AsyncSession, events: Sequence[CaseEvent]) -> None:
        for event in events:
            detail = {k: event.payload[k] for k in _KEPT if event.payload.get(k) is not None}
            session.add(
                AuditEntry(
                    at=event.at,
                    kind=KIND,
                    username=event.actor,
                    user_id=event.actor_id,
                    detail={
                        "case_id": event.case_id,
                        "seq": event.seq,
                        "position": event.position,
                        **detail,
                    },
                )
            )
