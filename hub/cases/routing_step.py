"""Applying a routing decision to a case: the shell around the pure `dispatch.routing`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.cases.events import EventType as E
from hub.cases.machine import Action, CaseState, next_state
from hub.dispatch.loading import entry_rule, place_of
from hub.dispatch.routing import AccessRuleViolation, Decision, Undecided, route
from hub.enums import HandlingTier
from hub.errors import Conflict, Unprocessable
from hub.org.models import Staff
from hub.sla.arming import start_clocks
from hub.sla.assessment import effect_payload, lateness_s, running_clocks
from hub.sla.ladder import Step

if TYPE_CHECKING:
    from hub.cases.context import Ctx

EVENT_OF_ACTION = {
    Action.DISPATCH: E.DISPATCHED,
    Action.TRANSFER: E.TRANSFERRED,
    Action.ESCALATE: E.ESCALATED,
    Action.CONFIRM_WHISTLE: E.WHISTLE_CONFIRMED,
}


async def route_case(
    ctx: Ctx,
    action: Action,
    *,
    automatic: bool = False,
    tier: HandlingTier | None = None,
    department_id: int | None = None,
    staff_id: int | None = None,
    confirmed: bool = False,
    note: str = "",
) -> Decision | Undecided:
    """Route and record. `automatic` routing that needs a person leaves the case in the
    dispatcher's queue; an explicit request that cannot be routed is refused."""
    case = ctx.case
    entry = (
        ctx.ref.entries.get(case.catalogue_entry_id)
        if case.catalogue_entry_id is not None
        else None
    )
    roster = ctx.ref.roster(place_of(case))
    rule = entry_rule(entry) if entry is not None else None
    try:
        decision = route(
            rule,
            place_of(case),
            roster,
            tier=tier,
            department_id=department_id,
            confirmed=confirmed,
        )
    except AccessRuleViolation as exc:
        raise Unprocessable("department_id", str(exc), rule="access") from exc
    except ValueError as exc:
        raise Unprocessable("department_id", str(exc)) from exc
    if isinstance(decision, Undecided):
        if automatic:
            return decision
        raise Conflict(
            f"cannot route this case: {decision.reason}",
            kind="unroutable",
            state=case.state.value,
        )
    if staff_id is not None:
        assert ctx.session is not None  # overrides come with actions on stored cases
        staff = await ctx.session.get(Staff, staff_id)
        if staff is None or staff.department_id != decision.department_id:
            raise Unprocessable("staff_id", f"staff {staff_id} is not in the chosen department")
    assigned = staff_id or decision.staff_id
    late = lateness_s(case, ctx.now)  # measured before the move
    clocks = running_clocks(case)
    # The same department keeps the case (a transfer to itself, a new person): its
    # resolve clock runs on; only a new department gets time of its own to resolve.
    same_department = clocks[Step.RESOLVE] is not None and case.department_id == (
        decision.department_id
    )
    case.state = next_state(case.state, action, needs_confirmation=decision.needs_confirmation)
    case.tier = decision.tier
    case.whistle_level = decision.whistle_level
    case.department_id = decision.department_id
    case.cooperating_department_ids = list(decision.cooperating_department_ids)
    case.assigned_staff_id = assigned
    case.acknowledged_at = case.checked_in_at = None
    case.dispatched_at = ctx.now
    start_clocks(case, entry, ctx.ref.calendar, ctx.now, keep_resolve=same_department)
    payload = {
        "action": action.value,
        "decision": decision.as_dict(),
        "note": note,
        "assigned_staff_id": assigned,
        "deadlines": effect_payload(case, clocks, running_clocks(case), late),
    }
    event = EVENT_OF_ACTION[action]
    if case.state is CaseState.AWAITING_CONFIRMATION:
        event = E.WHISTLE_AWAITING_CONFIRMATION
    ctx.record(event, payload)
    return decision
