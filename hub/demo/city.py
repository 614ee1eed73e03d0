"""The whole demo city as plain data, generated deterministically: same seed, same city,
so screenshots, docs and tests can name places and people."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hub.demo.catalogue_data import ENTRIES, EntrySeed
from hub.demo.people import (
    AccountSeed,
    DepartmentSeed,
    PostSeed,
    StaffSeed,
    build_organisation,
    dept_key,
    send_some_a_posts_away,
)
from hub.demo.regions_data import RegionSeed, build_regions
from hub.enums import HandlingTier, PostSlot, Role, Tier

SEED = 2026
# The department whose liaison and A-post staff get demo accounts.
DEMO_DEPARTMENT = "police"


@dataclass(frozen=True)
class City:
    regions: list[RegionSeed]
    departments: list[DepartmentSeed]
    staff: list[StaffSeed]
    posts: list[PostSeed]
    entries: tuple[EntrySeed, ...]
    accounts: list[AccountSeed]

    def of_tier(self, tier: Tier) -> list[RegionSeed]:
        return [r for r in self.regions if r.tier is tier]

    @property
    def demo_township(self) -> RegionSeed:
        """The township the dispatcher, leader, grid worker and staff accounts work in."""
        return self.of_tier(Tier.TOWNSHIP)[0]


def build_city() -> City:
    rng = random.Random(SEED)
    regions = build_regions(rng)
    org = build_organisation(regions, rng)
    city = regions[0]
    township = next(r for r in regions if r.tier is Tier.TOWNSHIP)
    county_code = township.parent_code
    assert county_code is not None
    grid = next(r for r in regions if r.tier is Tier.GRID and r.code.startswith(township.code))
    police = dept_key(county_code, DEMO_DEPARTMENT)
    a_post = next(
        p
        for p in org.posts
        if p.department_key == police and p.township_code == township.code and p.slot is PostSlot.A
    )
    # The staff account's A post stays on duty, so its cases reach the person logging in.
    send_some_a_posts_away(org, {a_post.staff_key}, rng)
    staff = {s.key: s for s in org.staff}
    liaison_key = f"{police}/liaison"
    grid_worker_key = f"grid/{grid.code}"
    accounts = [
        AccountSeed("admin", "系统管理员", Role.ADMIN, None),
        AccountSeed("commander", f"{city.name_zh}指挥中心", Role.COMMANDER, city.code),
        AccountSeed("dispatcher", f"{township.name_zh}调度员", Role.DISPATCHER, township.code),
        AccountSeed("leader", f"{township.name_zh}主要领导", Role.TOWNSHIP_LEADER, township.code),
        AccountSeed(
            "gridworker",
            staff[grid_worker_key].name,
            Role.GRID_WORKER,
            grid.code,
            department_key=dept_key(township.code, "grid_office"),
            staff_key=grid_worker_key,
        ),
        AccountSeed(
            "liaison",
            staff[liaison_key].name,
            Role.DEPT_LIAISON,
            county_code,
            department_key=police,
            staff_key=liaison_key,
        ),
        AccountSeed(
            "staff",
            staff[a_post.staff_key].name,
            Role.DEPT_STAFF,
            township.code,
            department_key=police,
            staff_key=a_post.staff_key,
        ),
        AccountSeed("wall", f"{city.name_zh}指挥大屏", Role.WALL, city.code),
        AccountSeed("auditor", "考核办", Role.AUDITOR, city.code),
    ]
    return City(regions, org.departments, org.staff, org.posts, ENTRIES, accounts)


def routable_here(entry: EntrySeed, township: RegionSeed, city: City) -> bool:
    """Whether automatic routing finds the entry's department for a case in `township`
    (township-tier entries need that office in the township itself)."""
    if entry.tier is not HandlingTier.TOWNSHIP:
        return True
    return any(d.key == dept_key(township.code, entry.primary_department) for d in city.departments)
