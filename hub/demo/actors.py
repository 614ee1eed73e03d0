"""Who acts on a demo or simulated case: the demo account whose scope and role fit, so the
timelines read like real work; the unscoped admin stands in for everyone else."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from hub.auth.models import User
from hub.auth.principal import Principal, load_principal
from hub.cases.machine import Action
from hub.cases.models import Case
from hub.enums import HandlingTier, Source

_DEPARTMENT_WORK = frozenset({Action.ACKNOWLEDGE, Action.CHECK_IN, Action.RESOLVE, Action.RETURN})
_DESK_WORK = frozenset(
    {
        Action.CLASSIFY,
        Action.DISPATCH,
        Action.MERGE,
        Action.CANCEL,
        Action.REOPEN,
        Action.TRANSFER,
        Action.FOLLOW_UP,  # the hotline desk calls the resident back
    }
)
_LEADER_WORK = frozenset({Action.CONFIRM_WHISTLE, Action.EVALUATE})
CAST_USERNAMES = ("admin", "commander", "dispatcher", "leader", "gridworker", "liaison", "staff")


@dataclass(frozen=True)
class Cast:
    admin: Principal
    commander: Principal
    dispatcher: Principal
    leader: Principal
    gridworker: Principal
    liaison: Principal
    staff: Principal

    @property
    def township_id(self) -> int | None:
        return self.dispatcher.region_id

    def reporter(self, grid_code: str, source: Source) -> Principal:
        if source is Source.GRID_PATROL and grid_code == self.gridworker.region_code:
            return self.gridworker
        if grid_code.startswith(self.dispatcher.region_code or "-"):
            return self.dispatcher
        # Hotline and app reports land at the city's 12345 desk.
        return self.commander

    def for_action(self, action: Action, case: Case) -> Principal:
        home = case.township_id == self.township_id
        if action in _DEPARTMENT_WORK:
            return self._department_member(action, case)
        if action is Action.MERGE:
            return self.commander  # both cases must be in scope; the city sees every one
        if action in _DESK_WORK:
            return self.dispatcher if home else self.commander
        if action in _LEADER_WORK:
            return self.leader if home else self.commander
        if (
            action is Action.ESCALATE
            and case.tier is HandlingTier.GRID
            and case.grid_id == self.gridworker.region_id
        ):
            return self.gridworker
        return self.dispatcher if home else self.commander

    def _department_member(self, action: Action, case: Case) -> Principal:
        # A grid worker may not return a case (permissions table): someone above must.
        mine = case.tier is HandlingTier.GRID and case.grid_id == self.gridworker.region_id
        if mine and action is not Action.RETURN:
            return self.gridworker
        if case.department_id == self.staff.department_id:
            if case.township_id == self.staff.region_id:
                return self.staff
            if case.county_id == self.liaison.region_id:
                return self.liaison
        return self.admin


async def load_cast(session: AsyncSession) -> Cast | None:
    """The demo accounts as principals, or None when the demo has not been loaded."""
    users = (await session.exec(select(User).where(col(User.username).in_(CAST_USERNAMES)))).all()
    found: dict[str, Principal] = {}
    for user in users:
        assert user.id is not None
        found[user.username] = await load_principal(session, user.id, user.token_version)
    if len(found) != len(CAST_USERNAMES):
        return None
    return Cast(**found)
