"""Who an escalation reaches: a pure walk up the chain of people who can take it.

A rung names where its walk starts (the B post, the department's leader, the township's
command centre, ...); when nobody there can be reached the walk goes on up the chain
until someone is, and records every person it passed over and why. Only a chain with
nobody on it at all ends unreached — the console shows those as a warning."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from hub.enums import DutyStatus
from hub.sla.ladder import RungAction


class Rank(StrEnum):
    B_POST = "b_post"  # the department's B post in the case's township
    LEADER = "leader"  # the department's leader
    LIAISON = "liaison"  # the department's liaison (承办受理)
    TOWNSHIP_COMMAND = "township_command"  # the township's command centre and dispatchers
    COUNTY_COMMAND = "county_command"  # the county's command centre and dispatchers
    CITY_COMMAND = "city_command"  # the city's command centre


CHAIN: tuple[Rank, ...] = tuple(Rank)
# The department's own people take the task over; the command centres above are told.
TAKES_THE_TASK = frozenset({Rank.B_POST, Rank.LEADER, Rank.LIAISON})
START_OF: dict[RungAction, Rank] = {
    RungAction.PUSH_BACKUP: Rank.B_POST,
    RungAction.PUSH_LEADER: Rank.LEADER,
    RungAction.FLAG_TOWNSHIP: Rank.TOWNSHIP_COMMAND,
    RungAction.SUPERVISE_COUNTY: Rank.COUNTY_COMMAND,
    RungAction.SUPERVISE_CITY: Rank.CITY_COMMAND,
}


@dataclass(frozen=True)
class Contact:
    """A person on the chain: department staff (pushed to their phone) or a command
    centre's user (told on their console)."""

    staff_id: int | None = None
    user_id: int | None = None
    duty: DutyStatus = DutyStatus.ON_DUTY

    def ids(self) -> dict[str, int]:
        out = {}
        if self.staff_id is not None:
            out["staff_id"] = self.staff_id
        if self.user_id is not None:
            out["user_id"] = self.user_id
        return out


Contacts = Mapping[Rank, Sequence[Contact]]


@dataclass(frozen=True)
class Reach:
    rank: Rank | None  # None: nobody on the whole chain could be reached
    contact: Contact | None
    skipped: tuple[dict[str, Any], ...]

    @property
    def takes_the_task(self) -> bool:
        return (
            self.rank in TAKES_THE_TASK
            and self.contact is not None
            and (self.contact.staff_id is not None)
        )

    def as_payload(self) -> dict[str, Any]:
        reached = None
        if self.rank is not None and self.contact is not None:
            reached = {"rank": self.rank.value, **self.contact.ids()}
        return {"reached": reached, "skipped": list(self.skipped)}


def fall_through(contacts: Contacts, start: Rank, *, holder_staff_id: int | None) -> Reach:
    """The first person from `start` up the chain who is on duty and does not already
    hold the task."""
    skipped: list[dict[str, Any]] = []
    seen: set[tuple[int | None, int | None]] = set()
    for rank in CHAIN[CHAIN.index(start) :]:
        people = contacts.get(rank, ())
        if not people:
            skipped.append({"rank": rank.value, "reason": "nobody on the roster"})
        for person in people:
            key = (person.staff_id, person.user_id)
            reason = _why_not(person, holder_staff_id, key in seen)
            seen.add(key)
            if reason is None:
                return Reach(rank, person, tuple(skipped))
            skipped.append({"rank": rank.value, **person.ids(), "reason": reason})
    return Reach(None, None, tuple(skipped))


def _why_not(person: Contact, holder_staff_id: int | None, seen: bool) -> str | None:
    if seen:
        return "already asked"
    if person.duty is not DutyStatus.ON_DUTY:
        return f"not on duty ({person.duty.value})"
    if person.staff_id is not None and person.staff_id == holder_staff_id:
        return "already holds the task"
    return None
