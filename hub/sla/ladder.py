"""The escalation ladder: which rungs fire at which share of each step's time limit.

A case's ladder is built from its catalogue entry when it is dispatched and stored on the
case as JSON, so that editing the entry later never changes a case in flight."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hub.enums import TimeUnit


class Step(StrEnum):
    ACK = "ack"  # the department signs for the task
    CHECKIN = "checkin"  # its staff report on site (报到)
    RESOLVE = "resolve"
    VERIFY = "verify"  # the township checks the result
    CONFIRM = "confirm"  # the township leader confirms a level-3 whistle


class RungKind(StrEnum):
    WARNING = "warning"
    BREACH = "breach"
    OVERDUE = "overdue"  # long past the limit


class RungAction(StrEnum):
    MARK_YELLOW = "mark_yellow"  # the walls show the case yellow
    MARK_RED = "mark_red"
    PUSH_BACKUP = "push_backup"  # reassign to the B post and push it
    PUSH_LEADER = "push_leader"  # reassign to the department's leader
    FLAG_TOWNSHIP = "flag_township"  # a flag for the township command centre
    RAISE_WHISTLE = "raise_whistle"  # one level up (2 -> 3 waits for confirmation)
    SUPERVISE_COUNTY = "supervise_county"  # 督办 by the county command centre
    SUPERVISE_CITY = "supervise_city"


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Rung(_Frozen):
    step: Step
    # Share of the step's limit after which the rung fires: 0.75 warns with a quarter
    # left, 1.0 is the breach, 2.0 "long overdue".
    at: float = Field(gt=0, le=10)
    kind: RungKind
    actions: tuple[RungAction, ...] = ()


class StepLimit(_Frozen):
    within: int = Field(gt=0, le=100_000)
    unit: TimeUnit


class Ladder(_Frozen):
    limits: dict[Step, StepLimit]
    rungs: tuple[Rung, ...]

    @model_validator(mode="after")
    def _rungs_have_limits(self) -> Ladder:
        for rung in self.rungs:
            if rung.step not in self.limits:
                raise ValueError(f"rung for step {rung.step!r} but no limit for that step")
        return self

    def rungs_of(self, step: Step) -> list[tuple[int, Rung]]:
        """(index, rung) pairs of one step; the index names the rung on deadline rows."""
        return [(i, r) for i, r in enumerate(self.rungs) if r.step is step]


class LadderOverride(_Frozen):
    """What a catalogue entry may change: the township's limits and the rungs."""

    verify: StepLimit | None = None
    confirm: StepLimit | None = None
    rungs: tuple[Rung, ...] | None = Field(default=None, max_length=40)


S, K, A = Step, RungKind, RungAction

DEFAULT_VERIFY = StepLimit(within=1, unit=TimeUnit.WORK_DAYS)
# Beijing gives a called department 30 minutes; the township leader gets as long to
# confirm a level-3 whistle before the command centre is told.
DEFAULT_CONFIRM = StepLimit(within=30, unit=TimeUnit.MINUTES)
WARN_AT = 0.75
LONG_OVERDUE_AT = 2.0

DEFAULT_RUNGS: tuple[Rung, ...] = (
    Rung(step=S.ACK, at=WARN_AT, kind=K.WARNING),
    Rung(step=S.ACK, at=1.0, kind=K.BREACH, actions=(A.PUSH_BACKUP,)),
    Rung(step=S.ACK, at=LONG_OVERDUE_AT, kind=K.OVERDUE, actions=(A.PUSH_LEADER,)),
    Rung(step=S.CHECKIN, at=WARN_AT, kind=K.WARNING),
    Rung(step=S.CHECKIN, at=1.0, kind=K.BREACH, actions=(A.FLAG_TOWNSHIP,)),
    Rung(step=S.RESOLVE, at=WARN_AT, kind=K.WARNING, actions=(A.MARK_YELLOW,)),
    # Red and the county's supervision first: raising the whistle re-routes the case and
    # starts the new department's clock, which ends this clock's rungs.
    Rung(
        step=S.RESOLVE,
        at=1.0,
        kind=K.BREACH,
        actions=(A.MARK_RED, A.SUPERVISE_COUNTY, A.RAISE_WHISTLE),
    ),
    Rung(step=S.RESOLVE, at=LONG_OVERDUE_AT, kind=K.OVERDUE, actions=(A.SUPERVISE_CITY,)),
    Rung(step=S.VERIFY, at=WARN_AT, kind=K.WARNING),
    Rung(step=S.VERIFY, at=1.0, kind=K.BREACH, actions=(A.FLAG_TOWNSHIP,)),
    Rung(step=S.CONFIRM, at=WARN_AT, kind=K.WARNING),
    Rung(step=S.CONFIRM, at=1.0, kind=K.BREACH, actions=(A.FLAG_TOWNSHIP,)),
)


def build_ladder(
    *,
    ack: StepLimit,
    checkin: StepLimit,
    resolve: StepLimit,
    override: LadderOverride | None = None,
) -> Ladder:
    o = override or LadderOverride()
    return Ladder(
        limits={
            S.ACK: ack,
            S.CHECKIN: checkin,
            S.RESOLVE: resolve,
            S.VERIFY: o.verify or DEFAULT_VERIFY,
            S.CONFIRM: o.confirm or DEFAULT_CONFIRM,
        },
        rungs=o.rungs if o.rungs is not None else DEFAULT_RUNGS,
    )


def ladder_json(ladder: Ladder) -> dict[str, Any]:
    return ladder.model_dump(mode="json")


def ladder_from_json(data: dict[str, Any]) -> Ladder:
    return Ladder.model_validate(data)
