"""Writing and folding the append-only case timeline."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

from hub.audit.chain import GENESIS, canonical, link_hash
from hub.cases.events import EventType, checked
from hub.cases.models import Case, CaseEvent
from hub.trace import current_request_id

# Fields that are bookkeeping of the request, not of the case's story.
_UNTRACKED = frozenset({"id", "idempotency_key", "idempotency_fingerprint", "event_head"})
TRACKED_FIELDS: tuple[str, ...] = tuple(f for f in Case.model_fields if f not in _UNTRACKED)


def to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value


_PLAIN = frozenset({str, int, float, bool, type(None)})


def snapshot(case: Case) -> dict[str, Any]:
    # Read the loaded values straight from the instance dict: going through the ORM's
    # attribute descriptors made snapshots a large part of firing a deadline (timers bench).
    # A field missing from it (expired, never loaded) is read the normal way.
    loaded = case.__dict__
    out: dict[str, Any] = {}
    for name in TRACKED_FIELDS:
        value = loaded[name] if name in loaded else getattr(case, name)
        out[name] = value if type(value) in _PLAIN else to_json(value)
    return out


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in after.items() if before.get(k, _MISSING) != v}


_MISSING = object()


def fold(events: Iterable[CaseEvent]) -> dict[str, Any]:
    """Rebuild a case's tracked fields from its events alone."""
    state: dict[str, Any] = {}
    for event in events:
        state.update(event.changes)
    return state


def new_event(
    case: Case,
    *,
    before: dict[str, Any],
    type: EventType,
    actor_id: int | None,
    actor: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
) -> tuple[CaseEvent, dict[str, Any]]:
    """Bump the case's version and build the event of what changed since `before` (empty
    for a new case), chained to the case's previous event — or, for a case that has no id
    yet, left for `seal`. Returns the event and the case's snapshot after it. The event's
    seq equals the new version. Events are never added to a session (the unit of work
    inserts them as plain rows), so they are built without the ORM's bookkeeping."""
    payload = payload or {}
    checked(type, payload)  # a type or payload outside the catalogue is a bug: refuse it
    case.version = (before.get("version") or 0) + 1 if before else 1
    case.updated_at = at
    after = snapshot(case)
    event = CaseEvent.model_construct(
        case_id=case.id or 0,
        seq=case.version,
        type=type,
        actor_id=actor_id,
        actor=actor,
        at=at,
        payload=payload,
        changes=diff(before, after),
        prev_hash="",
        hash="",
        request_id=current_request_id(),
    )
    if case.id is not None:
        _link(event, case)
    return event, after


def event_hash(event: CaseEvent) -> str:
    """The hash an event's stored content and `prev_hash` call for."""
    return link_hash(
        canonical(
            case_id=event.case_id,
            seq=event.seq,
            type=event.type,
            actor_id=event.actor_id,
            actor=event.actor,
            at=event.at,
            payload=event.payload,
            changes=event.changes,
            prev_hash=event.prev_hash,
        )
    )


def _link(event: CaseEvent, case: Case) -> None:
    _assign(event, prev_hash=case.event_head or GENESIS)
    _assign(event, hash=event_hash(event))
    case.event_head = event.hash


def _assign(event: CaseEvent, **values: Any) -> None:
    """Events are built by `model_construct`, outside any session: they have no ORM
    state for attribute assignment to go through, only their values."""
    event.__dict__.update(values)


def seal(case: Case, events: list[CaseEvent]) -> None:
    """Chain a new case's events once it has its id (they were built before it had one)."""
    assert case.id is not None
    case.event_head = None
    for event in events:
        _assign(event, case_id=case.id)
        _link(event, case)
