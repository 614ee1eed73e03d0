"""The dispatcher's routing suggestion: the pure router run on a stored case without
writing anything, so the console can show who would get the case, and why, before the
dispatcher presses dispatch."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from hub.auth.principal import Principal
from hub.cases.queries import get_case
from hub.deps import Hub
from hub.dispatch.loading import entry_rule, place_of
from hub.dispatch.routing import AccessRuleViolation, Undecided, route
from hub.errors import Unprocessable
from hub.org.models import Department, Staff


async def suggest(
    hub: Hub,
    user: Principal,
    case_id: int,
    *,
    category_code: str | None,
    department_id: int | None,
) -> dict[str, Any]:
    async with hub.db.read() as session:
        case = await get_case(session, case_id, user)
    ref = await hub.reference.get()
    if category_code is not None:
        entry = ref.current.get(category_code)
        if entry is None:
            raise Unprocessable("category_code", f"unknown category {category_code!r}")
    elif case.catalogue_entry_id is not None:
        entry = ref.entries.get(case.catalogue_entry_id)
    else:
        entry = None
    place = place_of(case)
    try:
        decision = route(
            entry_rule(entry) if entry is not None else None,
            place,
            ref.roster(place),
            department_id=department_id,
        )
    except AccessRuleViolation as exc:
        raise Unprocessable("department_id", str(exc), rule="access") from exc
    except ValueError as exc:
        raise Unprocessable("department_id", str(exc)) from exc
    entry_out = (
        {"code": entry.code, "name_zh": entry.name_zh, "name_en": entry.name_en}
        if entry is not None
        else None
    )
    if isinstance(decision, Undecided):
        return {"decided": False, "reason": decision.reason, "entry": entry_out}
    async with hub.db.read() as session:
        dept = await session.get(Department, decision.department_id)
        staff = await session.get(Staff, decision.staff_id) if decision.staff_id else None
    out = asdict(decision)
    out["reasons"] = list(decision.reasons)
    out["cooperating_department_ids"] = list(decision.cooperating_department_ids)
    return {
        "decided": True,
        "entry": entry_out,
        **out,
        "department": {"id": dept.id, "name_zh": dept.name_zh, "name_en": dept.name_en}
        if dept is not None
        else None,
        "staff": {"id": staff.id, "name": staff.name} if staff is not None else None,
    }
