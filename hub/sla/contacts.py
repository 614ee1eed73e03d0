"""The escalation chain of one case, read from the in-memory reference data (no I/O):
who holds each rank of `hub.sla.reach.CHAIN` for the case's department and place."""

from __future__ import annotations

from typing import Protocol

from hub.dispatch.reference import Reference
from hub.dispatch.routing import GRID_OFFICE
from hub.enums import PostSlot, Role, StaffRole
from hub.sla.reach import Contact, Contacts, Rank

# The township's grid management centre (网格化管理中心) is its command centre: its
# liaison and members, not the grid workers out on patrol.
_COMMAND_STAFF = (StaffRole.LIAISON, StaffRole.MEMBER, StaffRole.LEADER)
_USERS_OF_RANK = {
    Rank.TOWNSHIP_COMMAND: (Role.TOWNSHIP_LEADER, Role.DISPATCHER),
    Rank.COUNTY_COMMAND: (Role.COMMANDER, Role.DISPATCHER),
    Rank.CITY_COMMAND: (Role.COMMANDER, Role.DISPATCHER),
}


class PlaceOfCase(Protocol):
    """The fields of a case the chain depends on (a `Case` row has them)."""

    department_id: int | None
    township_id: int
    county_id: int
    city_id: int


def contacts_for(ref: Reference, case: PlaceOfCase) -> Contacts:
    dept = case.department_id
    staff = ref.staff_of.get(dept, ()) if dept is not None else ()
    b_posts = [
        Contact(staff_id=p.staff_id, duty=p.duty_status)
        for p in ref.posts.get(case.township_id, ())
        if p.department_id == dept and p.slot is PostSlot.B
    ]
    return {
        Rank.B_POST: b_posts,
        Rank.LEADER: [
            Contact(staff_id=s.staff_id, duty=s.duty) for s in staff if s.role is StaffRole.LEADER
        ],
        Rank.LIAISON: [
            Contact(staff_id=s.staff_id, duty=s.duty) for s in staff if s.role is StaffRole.LIAISON
        ],
        Rank.TOWNSHIP_COMMAND: _command(ref, Rank.TOWNSHIP_COMMAND, case.township_id),
        Rank.COUNTY_COMMAND: _command(ref, Rank.COUNTY_COMMAND, case.county_id),
        Rank.CITY_COMMAND: _command(ref, Rank.CITY_COMMAND, case.city_id),
    }


def _command(ref: Reference, rank: Rank, region_id: int) -> list[Contact]:
    """A region's command centre: the staff of its grid management centre (if it has
    one), in their roles' order, then the command users working there."""
    centre = next((d for d in ref.departments.get(region_id, ()) if d.code == GRID_OFFICE), None)
    people = ref.staff_of.get(centre.id, ()) if centre is not None else ()
    out = [
        Contact(staff_id=s.staff_id, duty=s.duty)
        for role in _COMMAND_STAFF
        for s in people
        if s.role is role
    ]
    roles = _USERS_OF_RANK[rank]
    out += [
        Contact(user_id=user_id)
        for role in roles
        for user_id, user_role in ref.command_users.get(region_id, ())
        if user_role is role
    ]
    return out
