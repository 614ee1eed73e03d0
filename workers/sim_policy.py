"""What the simulated people do next with a case: a pure choice from its state, the
catalogue and the departments that exist, so every move it makes is one the hub accepts;
and the static picture (grids, catalogue, departments) that choice reads."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from hub.cases.machine import Action, CaseState
from hub.cases.models import Case
from hub.catalogue.models import CatalogueEntry
from hub.dispatch.routing import GRID_OFFICE
from hub.enums import TIER_OF_WHISTLE_LEVEL, HandlingTier
from hub.org.models import Department
from hub.regions.models import Region

S, A = CaseState, Action
RETURN_SHARE = 0.03
ESCALATE_SHARE = 0.04
REJECT_SHARE = 0.1
EVALUATE_SHARE = 0.8


@dataclass(frozen=True)
class Move:
    action: Action
    category_code: str | None = None
    into_case_id: int | None = None
    department_id: int | None = None


@dataclass(frozen=True)
class GridBox:
    code: str
    box: tuple[float, float, float, float]  # west, south, east, north

    @classmethod
    def of(cls, region: Region) -> GridBox:
        ring = (region.geometry or {}).get("coordinates", [[]])[0]
        lon, lat = region.center_lon or 0.0, region.center_lat or 0.0
        lons, lats = [p[0] for p in ring] or [lon], [p[1] for p in ring] or [lat]
        return cls(region.code, (min(lons), min(lats), max(lons), max(lats)))


@dataclass(frozen=True)
class Catalogue:
    entries: tuple[CatalogueEntry, ...]
    by_code: dict[str, CatalogueEntry]
    dept_id: dict[tuple[int, str], int]  # (region id, department code) -> department id

    @classmethod
    def build(cls, entries: Sequence[CatalogueEntry], depts: Sequence[Department]) -> Catalogue:
        return cls(
            entries=tuple(entries),
            by_code={e.code: e for e in entries},
            dept_id={(d.region_id, d.code): d.id for d in depts if d.id is not None},
        )

    def _has(self, case: Case, tier: HandlingTier, code: str) -> bool:
        region = case.county_id if tier is HandlingTier.COUNTY else case.township_id
        return (region, code) in self.dept_id

    def routable(self, entry: CatalogueEntry, case: Case) -> bool:
        code = GRID_OFFICE if entry.tier is HandlingTier.GRID else entry.primary_department
        return self._has(case, entry.tier, code)

    def can_escalate(self, entry: CatalogueEntry | None, case: Case) -> bool:
        level = case.whistle_level or 1
        if entry is None or level >= 3:
            return False
        tier = TIER_OF_WHISTLE_LEVEL[level + 1]
        return self._has(case, tier, entry.escalation_department or entry.primary_department)

    def county_department(self, entry: CatalogueEntry, case: Case) -> int | None:
        """Where a dispatcher sends a matter no office in the township takes."""
        for code in (entry.escalation_department, entry.primary_department):
            if code and (case.county_id, code) in self.dept_id:
                return self.dept_id[(case.county_id, code)]
        return None


def next_move(
    case: Case,
    catalogue: Catalogue,
    rng: random.Random,
    open_ids: Sequence[int],
    duplicate_of: int | None,
) -> Move | None:
    """None: nothing more to do with this case."""
    state = case.state
    entry = catalogue.by_code.get(case.category_code or "")
    if state is S.REPORTED:
        if duplicate_of is not None:
            return (
                Move(A.MERGE, into_case_id=duplicate_of)
                if duplicate_of in open_ids
                else (Move(A.CANCEL))
            )
        usable = [e for e in catalogue.entries if catalogue.routable(e, case)]
        return Move(A.CLASSIFY, category_code=rng.choice(usable).code) if usable else None
    if state in (S.CLASSIFIED, S.RETURNED):
        if entry is None:
            return Move(A.CANCEL)
        if catalogue.routable(entry, case):
            return Move(A.DISPATCH)
        dept = catalogue.county_department(entry, case)
        return Move(A.DISPATCH, department_id=dept) if dept else Move(A.CANCEL)
    if state is S.AWAITING_CONFIRMATION:
        return Move(A.CONFIRM_WHISTLE)
    if state is S.DISPATCHED:
        roll = rng.random()
        if roll < RETURN_SHARE and case.tier is not HandlingTier.GRID:
            return Move(A.RETURN)
        if roll < RETURN_SHARE + ESCALATE_SHARE and catalogue.can_escalate(entry, case):
            return Move(A.ESCALATE)
        return Move(A.ACKNOWLEDGE)
    if state is S.ACKNOWLEDGED:
        return Move(A.CHECK_IN)
    if state is S.ON_SITE:
        return Move(A.RESOLVE)
    if state is S.RESOLVED:
        return Move(A.REJECT if rng.random() < REJECT_SHARE else A.VERIFY)
    if state is S.VERIFIED:
        return Move(A.CLOSE)
    if state is S.CLOSED and case.township_score is None and rng.random() < EVALUATE_SHARE:
        return Move(A.EVALUATE)
    return None
