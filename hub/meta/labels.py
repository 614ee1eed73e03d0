"""The words the screens show for the domain's codes, in Chinese and English.

They live beside the code tables they name, served with them in the wire contract
(`GET /api/v1/meta`), so a new state, action, role or rung cannot reach a screen without a
label: tests/test_meta.py walks every member of every enum below. Event labels stay with
the event catalogue (hub/cases/events.py)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any, TypeVar

from hub.auth.permissions import Permission
from hub.cases.machine import Action, CaseState
from hub.enums import (
    EvaluationReason,
    HandlingTier,
    Priority,
    Role,
    Satisfaction,
    SlaStatus,
    Source,
    Supervision,
)
from hub.sla.ladder import RungAction, Step
from hub.sla.reach import Rank

Label = tuple[str, str]  # (zh, en)
E = TypeVar("E", bound=StrEnum)

STATES: dict[CaseState, Label] = {
    CaseState.REPORTED: ("已上报", "Reported"),
    CaseState.CLASSIFIED: ("已分类", "Classified"),
    CaseState.AWAITING_CONFIRMATION: ("待领导确认", "Awaiting confirmation"),
    CaseState.DISPATCHED: ("已派遣", "Dispatched"),
    CaseState.ACKNOWLEDGED: ("已签收", "Acknowledged"),
    CaseState.ON_SITE: ("已报到", "On site"),
    CaseState.RESOLVED: ("已办结待核查", "Resolved"),
    CaseState.VERIFIED: ("已核查", "Verified"),
    CaseState.CLOSED: ("已结案", "Closed"),
    CaseState.RETURNED: ("已退回", "Returned"),
    CaseState.MERGED: ("已合并", "Merged"),
    CaseState.CANCELLED: ("已撤销", "Cancelled"),
}

ACTIONS: dict[Action, Label] = {
    Action.CLASSIFY: ("分类", "Classify"),
    Action.DISPATCH: ("派遣", "Dispatch"),
    Action.CONFIRM_WHISTLE: ("确认吹哨", "Confirm whistle"),
    Action.ACKNOWLEDGE: ("签收", "Acknowledge"),
    Action.CHECK_IN: ("报到", "Check in"),
    Action.RESOLVE: ("办结", "Resolve"),
    Action.VERIFY: ("核查通过", "Verify"),
    Action.REJECT: ("驳回返工", "Reject"),
    Action.CLOSE: ("结案", "Close"),
    Action.RETURN: ("退回", "Return"),
    Action.TRANSFER: ("转派", "Transfer"),
    Action.ESCALATE: ("升级吹哨", "Escalate"),
    Action.REOPEN: ("重新办理", "Reopen"),
    Action.MERGE: ("合并", "Merge"),
    Action.CANCEL: ("撤销", "Cancel"),
    Action.EVALUATE: ("评价", "Evaluate"),
    Action.FOLLOW_UP: ("回访", "Follow up"),
}

# The body fields of the actions (hub/cases/schemas.py ACTION_BODIES), `version` aside.
FIELDS: dict[str, Label] = {
    "note": ("备注", "Note"),
    "reason": ("原因", "Reason"),
    "category_code": ("事项类别（编码、中文或拼音）", "Category (code, Chinese or pinyin)"),
    "department_id": ("部门", "Department"),
    "staff_id": ("承办人", "Staff member"),
    "lat": ("纬度", "Latitude"),
    "lon": ("经度", "Longitude"),
    "attachment_ids": ("现场照片", "Photos"),
    "into_case_id": ("并入案件编号", "Merge into case number"),
    "township_score": ("街乡评分（1–5）", "Township's score (1–5)"),
    "resident_satisfaction": ("群众满意度（1–5）", "Resident satisfaction (1–5)"),
    "comment": ("评语", "Comment"),
    "reasons": ("评价理由", "Reasons"),
    "satisfaction": ("群众满意度", "Resident's satisfaction"),
    "resolved": ("问题已解决", "Problem solved"),
    "reopen": ("不满意，重新办理", "Unsatisfied: reopen the case"),
}

SATISFACTIONS: dict[Satisfaction, Label] = {
    Satisfaction.SATISFIED: ("满意", "Satisfied"),
    Satisfaction.BASICALLY: ("基本满意", "Basically satisfied"),
    Satisfaction.UNSATISFIED: ("不满意", "Unsatisfied"),
}

EVALUATION_REASONS: dict[EvaluationReason, Label] = {
    EvaluationReason.RESOLVED_WELL: ("处置得力", "Resolved well"),
    EvaluationReason.QUICK_TO_REPORT: ("报到迅速", "Quick to report"),
    EvaluationReason.GOOD_COORDINATION: ("协同配合好", "Worked well with others"),
    EvaluationReason.SLOW_TO_REPORT: ("报到迟缓", "Slow to report"),
    EvaluationReason.NOT_RESOLVED: ("问题未解决", "Did not resolve"),
    EvaluationReason.PASSED_THE_BUCK: ("推诿扯皮", "Passed the buck"),
    EvaluationReason.POOR_ATTITUDE: ("服务态度差", "Poor attitude"),
    EvaluationReason.PROBLEM_RECURRED: ("问题反复", "The problem came back"),
}

# The labels of an enum a body field takes, by the enum's name in the JSON Schema.
ENUM_OPTIONS: dict[str, Mapping[Any, Label]] = {
    "Satisfaction": SATISFACTIONS,
    "EvaluationReason": EVALUATION_REASONS,
}

ROLES: dict[Role, Label] = {
    Role.ADMIN: ("系统管理员", "Administrator"),
    Role.COMMANDER: ("指挥长", "Commander"),
    Role.DISPATCHER: ("调度员", "Dispatcher"),
    Role.TOWNSHIP_LEADER: ("街乡领导", "Township leader"),
    Role.GRID_WORKER: ("网格员", "Grid worker"),
    Role.DEPT_LIAISON: ("部门联络员", "Department liaison"),
    Role.DEPT_STAFF: ("部门人员", "Department staff"),
    Role.WALL: ("指挥大屏", "Wall screen"),
    Role.AUDITOR: ("审计员", "Auditor"),
}

PERMISSIONS: dict[Permission, Label] = {
    Permission.CASE_READ: ("查看案件", "read cases"),
    Permission.CASE_CREATE: ("上报案件", "create cases"),
    Permission.CASE_ATTACH: ("上传照片", "attach photos"),
    Permission.REFERENCE_READ: ("查看基础数据", "read reference data"),
    Permission.STAFF_READ: ("查看人员名录", "read the staff directory"),
    Permission.STAFF_CONTACT: ("查看联系电话", "see phone numbers"),
    Permission.STAFF_DUTY: ("设置在岗状态", "set duty status"),
    Permission.DUTY_ASSIGN: ("安排他人在岗", "set others' duty status"),
    Permission.CATALOGUE_EDIT: ("编辑权责清单", "edit the responsibility list"),
    Permission.ORG_EDIT: ("编辑组织架构", "edit the organisation"),
    Permission.USERS_MANAGE: ("管理账号", "manage accounts"),
    Permission.AUDIT_READ: ("查看审计日志", "read the audit log"),
    Permission.ASSESSMENT_READ: ("查看考核与报表", "read assessment and reports"),
    Permission.ASSESSMENT_EDIT: ("编辑考核方案", "edit assessment schemes"),
}

SOURCES: dict[Source, Label] = {
    Source.GRID_PATROL: ("网格巡查", "Grid patrol"),
    Source.HOTLINE_12345: ("12345热线", "12345 hotline"),
    Source.PUBLIC_APP: ("群众App", "Public app"),
    Source.REFERRAL: ("转办", "Referral"),
    Source.DEPARTMENT: ("部门发现", "Department"),
}

PRIORITIES: dict[Priority, Label] = {
    Priority.URGENT: ("紧急", "Urgent"),
    Priority.NORMAL: ("一般", "Normal"),
}

SLA_STATUSES: dict[SlaStatus, Label] = {
    SlaStatus.OK: ("正常", "On track"),
    SlaStatus.WARNING: ("预警", "Warning"),
    SlaStatus.BREACHED: ("超时", "Breached"),
}

TIERS: dict[HandlingTier, Label] = {
    HandlingTier.GRID: ("网格", "grid"),
    HandlingTier.TOWNSHIP: ("街乡", "township"),
    HandlingTier.COUNTY: ("区县部门", "county department"),
}

SUPERVISIONS: dict[Supervision, Label] = {
    Supervision.COUNTY: ("区县督办", "County supervision"),
    Supervision.CITY: ("市级督办", "City supervision"),
}

STEPS: dict[Step, Label] = {
    Step.ACK: ("签收", "acknowledge"),
    Step.CHECKIN: ("报到", "check-in"),
    Step.RESOLVE: ("办结", "resolve"),
    Step.VERIFY: ("核查", "verify"),
    Step.CONFIRM: ("领导确认", "leader's confirmation"),
}

RUNGS: dict[RungAction, Label] = {
    RungAction.MARK_YELLOW: ("黄灯预警", "marked yellow"),
    RungAction.MARK_RED: ("红灯超时", "marked red"),
    RungAction.PUSH_BACKUP: ("推送B岗", "pushed to the B post"),
    RungAction.PUSH_LEADER: ("推送部门领导", "pushed to the department leader"),
    RungAction.FLAG_TOWNSHIP: ("提示街乡", "flagged to the township"),
    RungAction.RAISE_WHISTLE: ("升级吹哨", "whistle raised"),
    RungAction.SUPERVISE_COUNTY: ("区县督办", "county supervision"),
    RungAction.SUPERVISE_CITY: ("市级督办", "city supervision"),
}

RANKS: dict[Rank, Label] = {
    Rank.B_POST: ("B岗", "B post"),
    Rank.LEADER: ("部门领导", "department leader"),
    Rank.LIAISON: ("部门联络员", "department liaison"),
    Rank.TOWNSHIP_COMMAND: ("街乡指挥中心", "township command centre"),
    Rank.COUNTY_COMMAND: ("区县指挥中心", "county command centre"),
    Rank.CITY_COMMAND: ("市指挥中心", "city command centre"),
}

WHISTLE_LEVELS: dict[int, Label] = {
    0: ("未定级", "Unrouted"),
    1: ("一级哨", "Level 1"),
    2: ("二级哨", "Level 2"),
    3: ("三级哨", "Level 3"),
}

# Every `error` code the API answers (hub/errors.py), and the `kind`s some of them carry,
# as "code" or "code.kind". `{name}` is filled by the screen from the error body's field
# of that name, shown by its label (a state, an action, a permission, a field).
ERRORS: dict[str, Label] = {
    "bad_request": ("请求有误", "Bad request"),
    "unauthorized": ("登录已失效，请重新登录", "Please log in again"),
    "forbidden": ("无权进行此操作", "You may not do this"),
    "forbidden.role": ("当前角色无权{missing}", "Your role may not {missing}"),
    "forbidden.grant": ("该接口密钥未授权：{missing}", "The API key lacks the grant: {missing}"),
    "forbidden.scope": ("不在您的管辖范围内", "Outside your area"),
    "forbidden.undeclared": ("该接口未开放", "This endpoint is not open"),
    "forbidden.no_inbox": ("只有部门人员有任务收件箱", "Only staff have a task inbox"),
    "not_found": ("找不到该对象，或不在您的管辖范围内", "Not found, or outside your area"),
    "method_not_allowed": ("不支持该请求方式", "Method not allowed"),
    "conflict": ("当前状态下不能这样操作", "Not possible in the current state"),
    "conflict.stale_version": (
        "案件已被他人更新，已刷新，请重试",
        "Someone changed this case meanwhile; refreshed, please retry",
    ),
    "conflict.illegal_transition": (
        "案件{state}，不能{action}",
        "The case is {state}: it cannot {action}",
    ),
    "conflict.unroutable": ("无法派遣该案件", "This case cannot be routed"),
    "conflict.idempotency_reuse": (
        "该请求编号已用于另一案件",
        "This Idempotency-Key was already used for a different case",
    ),
    "conflict.username_taken": ("用户名已被占用", "The username is taken"),
    "conflict.self_demote": (
        "不能停用或降级自己的账号",
        "You may not disable or demote your own account",
    ),
    "conflict.case_finished": (
        "案件{state}，不能再上传照片",
        "The case is {state}: no more photos",
    ),
    "conflict.photo_limit": ("照片已达上限（{limit}张）", "The case has {limit} photos, the limit"),
    "conflict.entry_exists": (
        "该事项已存在，请保存为新版本",
        "The entry exists; save a new version",
    ),
    "invalid": ("输入有误：{field}", "Invalid input: {field}"),
    "body_too_large": ("提交内容过大", "The request is too large"),
    "rate_limited": ("操作过于频繁，请稍后再试", "Too many requests; try again shortly"),
    "unavailable": ("系统暂时不可用，请稍后重试", "The hub is unavailable; try again shortly"),
    "unsupported_media_type": ("不支持的文件类型", "Unsupported file type"),
    "busy": ("系统繁忙，请稍后重试", "The hub is busy; try again shortly"),
    "internal": ("系统内部错误，已记录", "Internal error; it has been logged"),
    "http_error": ("请求失败", "Request failed"),
}


def pair(label: Label) -> dict[str, str]:
    zh, en = label
    return {"zh": zh, "en": en}


def labelled(table: Mapping[E, Label]) -> list[dict[str, object]]:
    """[{code, label: {zh, en}}] in the table's order (the enum's own)."""
    return [{"code": code.value, "label": pair(label)} for code, label in table.items()]
