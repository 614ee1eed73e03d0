"""The one place that decides which cases a caller may see: every case query, export and
subscription goes through `case_scope`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, true

from hub.auth.principal import Principal
from hub.cases.models import Case
from hub.enums import Role, Tier
from hub.regions.models import CODE_LENGTH
from hub.regions.queries import GridPlace

_TIER_BY_CODE_LENGTH = {length: tier for tier, length in CODE_LENGTH.items()}
UNSCOPED = frozenset({Role.ADMIN})
DEPARTMENT_ROLES = frozenset({Role.DEPT_LIAISON, Role.DEPT_STAFF})


def region_clause(tier: Tier, region_id: int) -> ColumnElement[bool]:
    column = {
        Tier.CITY: Case.city_id,
        Tier.COUNTY: Case.county_id,
        Tier.TOWNSHIP: Case.township_id,
        Tier.COMMUNITY: Case.community_id,
        Tier.GRID: Case.grid_id,
    }[tier]
    return column == region_id  # type: ignore[return-value]


def case_scope(user: Principal) -> ColumnElement[bool]:
    if user.role in UNSCOPED:
        return true()
    if user.region_id is None or user.region_code is None:
        return false()  # a scoped role without a region sees nothing rather than everything
    clause = region_clause(_TIER_BY_CODE_LENGTH[len(user.region_code)], user.region_id)
    if user.role in DEPARTMENT_ROLES:
        mine = [Case.department_id == user.department_id]
        if user.staff_id is not None:
            mine.append(Case.assigned_staff_id == user.staff_id)
        return and_(clause, or_(*mine))  # type: ignore[arg-type]
    return clause


def place_in_scope(user: Principal, place: GridPlace) -> bool:
    """May `user` work on a case located at `place` (used when creating one)?"""
    if user.role in UNSCOPED:
        return True
    if user.region_id is None or user.region_code is None:
        return False
    ids = {
        Tier.CITY: place.city_id,
        Tier.COUNTY: place.county_id,
        Tier.TOWNSHIP: place.township_id,
        Tier.COMMUNITY: place.community_id,
        Tier.GRID: place.grid_id,
    }
    return ids[_TIER_BY_CODE_LENGTH[len(user.region_code)]] == user.region_id


_ID_FIELD = {
    Tier.CITY: "city_id",
    Tier.COUNTY: "county_id",
    Tier.TOWNSHIP: "township_id",
    Tier.COMMUNITY: "community_id",
    Tier.GRID: "grid_id",
}


def case_visible(user: Principal, case: Mapping[str, Any]) -> bool:
    """`case_scope` for one case already in memory (a live frame): the same rule, kept next
    to the SQL so the two cannot drift (tests compare them case by case)."""
    if user.role in UNSCOPED:
        return True
    if user.region_id is None or user.region_code is None:
        return False
    tier = _TIER_BY_CODE_LENGTH[len(user.region_code)]
    if case.get(_ID_FIELD[tier]) != user.region_id:
        return False
    if user.role in DEPARTMENT_ROLES:
        return case.get("department_id") == user.department_id or (
            user.staff_id is not None and case.get("assigned_staff_id") == user.staff_id
        )
    return True


def region_in_scope(user: Principal, region_code: str) -> bool:
    """May `user` watch the region `region_code` (their own region or one under it)?"""
    if user.role in UNSCOPED:
        return True
    return user.region_code is not None and region_code.startswith(user.region_code)
