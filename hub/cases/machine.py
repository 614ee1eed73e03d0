"""The case lifecycle as a pure table: no I/O, no clock."""

from __future__ import annotations

from enum import StrEnum


class CaseState(StrEnum):
    REPORTED = "reported"
    CLASSIFIED = "classified"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    DISPATCHED = "dispatched"
    ACKNOWLEDGED = "acknowledged"
    ON_SITE = "on_site"
    RESOLVED = "resolved"
    VERIFIED = "verified"
    CLOSED = "closed"
    RETURNED = "returned"
    MERGED = "merged"
    CANCELLED = "cancelled"


class Action(StrEnum):
    CLASSIFY = "classify"
    DISPATCH = "dispatch"
    CONFIRM_WHISTLE = "confirm-whistle"
    ACKNOWLEDGE = "acknowledge"
    CHECK_IN = "check-in"
    RESOLVE = "resolve"
    VERIFY = "verify"
    REJECT = "reject"
    CLOSE = "close"
    RETURN = "return"
    TRANSFER = "transfer"
    ESCALATE = "escalate"
    REOPEN = "reopen"
    MERGE = "merge"
    CANCEL = "cancel"
    EVALUATE = "evaluate"
    FOLLOW_UP = "follow-up"  # the resident's follow-up visit (回访) after closure


S = CaseState
A = Action

# Marks an action whose target depends on whether a level-3 whistle needs the township
# leader's confirmation first (then AWAITING_CONFIRMATION, else DISPATCHED).
ROUTED = "routed"

_QUEUE = {A.CLASSIFY: S.CLASSIFIED, A.DISPATCH: ROUTED, A.MERGE: S.MERGED, A.CANCEL: S.CANCELLED}

TRANSITIONS: dict[CaseState, dict[Action, CaseState | str]] = {
    S.REPORTED: dict(_QUEUE),
    S.CLASSIFIED: dict(_QUEUE),
    S.RETURNED: dict(_QUEUE),
    S.AWAITING_CONFIRMATION: {
        A.CONFIRM_WHISTLE: S.DISPATCHED,
        A.DISPATCH: ROUTED,
        A.TRANSFER: ROUTED,
        A.MERGE: S.MERGED,
        A.CANCEL: S.CANCELLED,
    },
    S.DISPATCHED: {
        A.ACKNOWLEDGE: S.ACKNOWLEDGED,
        A.RETURN: S.RETURNED,
        A.TRANSFER: ROUTED,
        A.ESCALATE: ROUTED,
        A.MERGE: S.MERGED,
        A.CANCEL: S.CANCELLED,
    },
    S.ACKNOWLEDGED: {
        A.CHECK_IN: S.ON_SITE,
        A.RETURN: S.RETURNED,
        A.TRANSFER: ROUTED,
        A.ESCALATE: ROUTED,
        A.MERGE: S.MERGED,
        A.CANCEL: S.CANCELLED,
    },
    S.ON_SITE: {
        A.RESOLVE: S.RESOLVED,
        A.TRANSFER: ROUTED,
        A.ESCALATE: ROUTED,
        A.CANCEL: S.CANCELLED,
    },
    # Rework (返工) sends the case back to the department, which must report on site again.
    S.RESOLVED: {A.VERIFY: S.VERIFIED, A.REJECT: S.ACKNOWLEDGED},
    S.VERIFIED: {A.CLOSE: S.CLOSED, A.EVALUATE: S.VERIFIED},
    # An unsatisfied follow-up may reopen the case (the handler then reopens it).
    S.CLOSED: {A.EVALUATE: S.CLOSED, A.FOLLOW_UP: S.CLOSED, A.REOPEN: S.CLASSIFIED},
    S.MERGED: {},
    S.CANCELLED: {},
}

OPEN_STATES = frozenset(set(CaseState) - {S.CLOSED, S.MERGED, S.CANCELLED})
TERMINAL_STATES = frozenset({S.CLOSED, S.MERGED, S.CANCELLED})
# States in which a department holds the case and its clock runs.
WITH_DEPARTMENT = frozenset({S.DISPATCHED, S.ACKNOWLEDGED, S.ON_SITE})
# The dispatcher's queue: cases waiting for a person to decide (the console's first tab).
QUEUE_STATES = frozenset({S.REPORTED, S.CLASSIFIED, S.RETURNED, S.AWAITING_CONFIRMATION})
# 三级哨 is the top of the whistle ladder: above it, only supervision (督办) remains.
MAX_WHISTLE_LEVEL = 3


class IllegalTransition(Exception):
    def __init__(self, state: CaseState, action: Action, *, why: str | None = None) -> None:
        self.state = state
        self.action = action
        self.allowed = allowed_actions(state)  # the state's; see case_actions for a case's
        super().__init__(why or f"cannot {action} a case that is {state}")


def allowed_actions(state: CaseState) -> list[Action]:
    return sorted(TRANSITIONS[state], key=list(Action).index)


def case_actions(state: CaseState, whistle_level: int | None) -> list[Action]:
    """What may be done to a case now: its state's actions, less escalating a whistle that
    is already at the top level. Screens offer exactly these (the case's `allowed_actions`)."""
    actions = allowed_actions(state)
    if (whistle_level or 1) >= MAX_WHISTLE_LEVEL:
        actions = [a for a in actions if a is not A.ESCALATE]
    return actions


def next_state(state: CaseState, action: Action, *, needs_confirmation: bool = False) -> CaseState:
    target = TRANSITIONS[state].get(action)
    if target is None:
        raise IllegalTransition(state, action)
    if target == ROUTED:
        return S.AWAITING_CONFIRMATION if needs_confirmation else S.DISPATCHED
    return CaseState(target)
