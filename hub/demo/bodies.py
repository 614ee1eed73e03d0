"""Plausible request bodies for each action, as the people in the demo would fill them in."""

from __future__ import annotations

import random

from hub.cases import schemas as s
from hub.cases.machine import Action
from hub.cases.models import Case
from hub.enums import EvaluationReason, Satisfaction

R = EvaluationReason

_NOTES: dict[Action, tuple[str, ...]] = {
    Action.CONFIRM_WHISTLE: ("同意吹哨，请部门按时限到场处置。", "已审核，吹哨报到。"),
    Action.ACKNOWLEDGE: ("已接单，马上安排人员。", "收到，立即处置。", "已受理。"),
    Action.RESOLVE: ("已处置完毕，现场照片已上传。", "问题已整改到位。", "已协调处理完毕。"),
    Action.VERIFY: ("经现场核实，已处置到位。", "网格员复核通过。"),
    Action.CLOSE: ("核查结案。", "处置到位，予以结案。"),
}
_REASONS: dict[Action, tuple[str, ...]] = {
    Action.REJECT: ("现场复核未处置到位，请返工。", "群众反映问题仍存在，请重新处置。"),
    Action.RETURN: ("不属于本部门职责，请重新派遣。", "地址有误，退回核实。"),
    Action.ESCALATE: ("超出本级处置能力，申请上级吹哨。", "多次处置未果，提请上级部门报到。"),
    Action.REOPEN: ("群众反映问题复发，重新办理。",),
    Action.CANCEL: ("经核实为重复来电，市民已撤回诉求。", "经核实情况不属实。"),
}
_CHECKIN_NOTES = ("已到达现场。", "执法人员已到场。", "到场核查中。")
_COMMENTS = ("响应及时，处置到位。", "到场较慢，但处置结果满意。", "态度好，效率高。", "")
_UNSATISFIED = ("问题仍然存在。", "处理不彻底，过几天又出现了。", "没有人联系我。")
# The township's reasons go with its score: praise for a good one, the fault for a bad one.
_GOOD = (R.RESOLVED_WELL, R.QUICK_TO_REPORT, R.GOOD_COORDINATION)
_BAD = (R.SLOW_TO_REPORT, R.NOT_RESOLVED, R.PASSED_THE_BUCK, R.POOR_ATTITUDE, R.PROBLEM_RECURRED)
# Township scores and resident ratings lean high, as the sources' 97–99.8% closure rates do.
_SCORE_WEIGHTS = (0.02, 0.04, 0.14, 0.38, 0.42)


def _reasons(score: int, rng: random.Random) -> list[EvaluationReason]:
    pool = _GOOD if score >= 4 else _BAD if score <= 2 else _GOOD + _BAD
    return rng.sample(pool, k=rng.randint(1, 2))


def body_for(
    action: Action,
    case: Case,
    rng: random.Random,
    *,
    category_code: str | None = None,
    into_case_id: int | None = None,
    department_id: int | None = None,
    scores: tuple[int, int] | None = None,
) -> s.Versioned:
    version = case.version
    if action is Action.CLASSIFY:
        assert category_code is not None
        return s.Classify(version=version, category_code=category_code)
    if action is Action.DISPATCH:
        return s.Dispatch(version=version, department_id=department_id)
    if action is Action.MERGE:
        assert into_case_id is not None
        return s.Merge(version=version, into_case_id=into_case_id)
    if action is Action.CHECK_IN:
        return s.CheckIn(
            version=version, lat=case.lat, lon=case.lon, note=rng.choice(_CHECKIN_NOTES)
        )
    if action is Action.EVALUATE:
        if scores is None:  # drawn here; the long history's plans choose their own
            scale = range(1, 6)
            scores = (
                rng.choices(scale, weights=_SCORE_WEIGHTS)[0],
                rng.choices(scale, weights=_SCORE_WEIGHTS)[0],
            )
        return s.Evaluate(
            version=version,
            township_score=scores[0],
            resident_satisfaction=scores[1],
            comment=rng.choice(_COMMENTS),
            reasons=_reasons(scores[0], rng),
        )
    if action is Action.FOLLOW_UP:
        # The resident's answer follows their rating of the result (drawn with the plan).
        resident = scores[1] if scores is not None else rng.choices(range(1, 6), _SCORE_WEIGHTS)[0]
        answer = Satisfaction.SATISFIED if resident >= 4 else Satisfaction.BASICALLY
        if resident <= 2:
            answer = Satisfaction.UNSATISFIED
        return s.FollowUp(
            version=version,
            satisfaction=answer,
            resolved=resident >= 3,
            reason="" if resident >= 3 else rng.choice(_UNSATISFIED),
        )
    if action in _REASONS:
        return s.Reason(version=version, reason=rng.choice(_REASONS[action]))
    return s.Note(version=version, note=rng.choice(_NOTES.get(action, ("",))))
