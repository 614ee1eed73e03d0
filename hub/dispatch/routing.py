"""Pure routing: a case's category, place and the duty roster -> who handles it, and why."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from hub.enums import WHISTLE_LEVEL_OF_TIER, DepartmentKind, DutyStatus, HandlingTier, PostSlot

GRID_OFFICE = "grid_office"
_TIER_RANK = {HandlingTier.GRID: 0, HandlingTier.TOWNSHIP: 1, HandlingTier.COUNTY: 2}


@dataclass(frozen=True)
class EntryRule:
    entry_id: int
    code: str
    tier: HandlingTier
    primary_department: str
    cooperating_departments: tuple[str, ...]
    escalation_department: str | None
    needs_confirmation: bool


@dataclass(frozen=True)
class Place:
    grid_id: int
    community_id: int
    township_id: int
    county_id: int


@dataclass(frozen=True)
class DeptInfo:
    id: int
    code: str
    kind: DepartmentKind
    region_id: int


@dataclass(frozen=True)
class PostInfo:
    department_id: int
    township_id: int
    slot: PostSlot
    staff_id: int
    duty_status: DutyStatus


@dataclass(frozen=True)
class Roster:
    """The departments of the case's county and township, their posts in the township,
    their liaisons, and the grid workers of the case's grid."""

    departments: tuple[DeptInfo, ...]
    posts: tuple[PostInfo, ...] = ()
    liaisons: tuple[tuple[int, int], ...] = ()  # (department_id, staff_id), first is used
    grid_workers_on_duty: tuple[int, ...] = ()


@dataclass(frozen=True)
class Decision:
    entry_id: int
    tier: HandlingTier
    whistle_level: int
    department_id: int
    cooperating_department_ids: tuple[int, ...]
    staff_id: int | None
    notified_via: str  # post_A | post_B | liaison | grid_worker | none
    needs_confirmation: bool
    reasons: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        """Its fields, for the dispatch event (dataclasses.asdict deep-copies every value,
        needlessly for these immutable ones, and cost more than routing itself)."""
        return {name: getattr(self, name) for name in _DECISION_FIELDS}


_DECISION_FIELDS = tuple(f.name for f in fields(Decision))


@dataclass(frozen=True)
class Undecided:
    """Routing needs a person: the case waits in the dispatcher's queue."""

    reason: str


class AccessRuleViolation(ValueError):
    """A matter not on the township's list may not be pushed down to the township."""


def tier_rank(tier: HandlingTier) -> int:
    return _TIER_RANK[tier]


def _region_for(tier: HandlingTier, place: Place) -> int:
    return place.county_id if tier is HandlingTier.COUNTY else place.township_id


def _find(roster: Roster, code: str, region_id: int) -> DeptInfo | None:
    for dept in roster.departments:
        if dept.code == code and dept.region_id == region_id:
            return dept
    return None


def _department_code(entry: EntryRule, tier: HandlingTier) -> str:
    if tier is HandlingTier.GRID:
        return GRID_OFFICE
    if tier is not entry.tier and entry.escalation_department:
        return entry.escalation_department
    return entry.primary_department


def pick_staff(
    roster: Roster, department_id: int, township_id: int, tier: HandlingTier
) -> tuple[int | None, str]:
    """A post on duty, else B on duty, else the department's liaison (grid workers first
    for level-1 whistles)."""
    if tier is HandlingTier.GRID and roster.grid_workers_on_duty:
        return roster.grid_workers_on_duty[0], "grid_worker"
    for slot in (PostSlot.A, PostSlot.B):
        for post in roster.posts:
            if (
                post.department_id == department_id
                and post.township_id == township_id
                and post.slot is slot
                and post.duty_status is DutyStatus.ON_DUTY
            ):
                return post.staff_id, f"post_{slot.value}"
    for dept_id, staff_id in roster.liaisons:
        if dept_id == department_id:
            return staff_id, "liaison"
    return None, "none"


def waits_for_confirmation(level: int, *, entry_asks: bool, raised: bool, confirmed: bool) -> bool:
    """A level-3 whistle goes to the county only after the township leader confirms it:
    always when it was raised from a lower tier, and for entries that ask for it."""
    return level == 3 and (entry_asks or raised) and not confirmed


def route(
    entry: EntryRule | None,
    place: Place,
    roster: Roster,
    *,
    tier: HandlingTier | None = None,
    department_id: int | None = None,
    confirmed: bool = False,
) -> Decision | Undecided:
    """`tier` raises the handling tier (a higher whistle); `department_id` is a
    dispatcher's override. Neither may push a county matter down to the township."""
    if entry is None:
        return Undecided("no usable category: a dispatcher must classify the case")
    target_tier = tier or entry.tier
    if tier_rank(target_tier) < tier_rank(entry.tier):
        raise AccessRuleViolation(
            f"{entry.code} is handled at the {entry.tier} tier and may not be pushed down "
            f"to the {target_tier} tier (access rule)"
        )
    reasons = [f"catalogue entry {entry.code} v{entry.entry_id} assigns the {entry.tier} tier"]
    if target_tier is not entry.tier:
        reasons.append(f"whistle raised to the {target_tier} tier")
    dept = _resolve_department(entry, place, roster, target_tier, department_id, reasons)
    if isinstance(dept, Undecided):
        return dept
    if department_id is not None:
        target_tier = _tier_of(dept)
    cooperating = tuple(
        d.id
        for code in entry.cooperating_departments
        if (
            d := _find(roster, code, _region_for(target_tier, place))
            or _find(roster, code, place.county_id)
        )
        is not None
    )
    staff_id, via = pick_staff(roster, dept.id, place.township_id, target_tier)
    reasons.append(
        {
            "grid_worker": "the grid's on-duty grid worker is notified",
            "post_A": "the A post on duty is notified",
            "post_B": "the A post is not on duty; the B post is notified",
            "liaison": "no post on duty; the department liaison is notified",
            "none": "no post or liaison: the department must assign someone",
        }[via]
    )
    level = WHISTLE_LEVEL_OF_TIER[target_tier]
    needs_confirmation = waits_for_confirmation(
        level,
        entry_asks=entry.needs_confirmation,
        raised=target_tier is not entry.tier,
        confirmed=confirmed,
    )
    if needs_confirmation:
        reasons.append("a level-3 whistle waits for the township leader's confirmation")
    return Decision(
        entry_id=entry.entry_id,
        tier=target_tier,
        whistle_level=level,
        department_id=dept.id,
        cooperating_department_ids=cooperating,
        staff_id=staff_id,
        notified_via=via,
        needs_confirmation=needs_confirmation,
        reasons=tuple(reasons),
    )


def _tier_of(dept: DeptInfo) -> HandlingTier:
    if dept.kind is DepartmentKind.COUNTY:
        return HandlingTier.COUNTY
    return HandlingTier.GRID if dept.code == GRID_OFFICE else HandlingTier.TOWNSHIP


def _resolve_department(
    entry: EntryRule,
    place: Place,
    roster: Roster,
    tier: HandlingTier,
    department_id: int | None,
    reasons: list[str],
) -> DeptInfo | Undecided:
    if department_id is not None:
        chosen = next((d for d in roster.departments if d.id == department_id), None)
        if chosen is None:
            raise ValueError(f"department {department_id} does not serve this case's township")
        if tier_rank(_tier_of(chosen)) < tier_rank(entry.tier):
            raise AccessRuleViolation(
                f"{entry.code} is a {entry.tier}-tier matter; a "
                f"{chosen.kind} office may not be given it (access rule)"
            )
        reasons.append(f"dispatcher chose department {chosen.code}")
        return chosen
    code = _department_code(entry, tier)
    dept = _find(roster, code, _region_for(tier, place))
    if dept is None:
        return Undecided(f"no {code} department at the {tier} tier for this place")
    reasons.append(f"{code} is the primary department at the {tier} tier")
    return dept
