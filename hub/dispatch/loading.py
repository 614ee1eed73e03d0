"""Loading routing inputs from storage: the thin shell around `routing.route`."""

from __future__ import annotations

from hub.cases.models import Case
from hub.catalogue.models import CatalogueEntry
from hub.dispatch.routing import EntryRule, Place


def entry_rule(entry: CatalogueEntry) -> EntryRule:
    assert entry.id is not None
    return EntryRule(
        entry_id=entry.id,
        code=entry.code,
        tier=entry.tier,
        primary_department=entry.primary_department,
        cooperating_departments=tuple(entry.cooperating_departments),
        escalation_department=entry.escalation_department,
        needs_confirmation=entry.needs_confirmation,
    )


def place_of(case: Case) -> Place:
    return Place(
        grid_id=case.grid_id,
        community_id=case.community_id,
        township_id=case.township_id,
        county_id=case.county_id,
    )
