from __future__ import annotations

from enum import StrEnum


class Tier(StrEnum):
    CITY = "city"
    COUNTY = "county"
    TOWNSHIP = "township"
    COMMUNITY = "community"
    GRID = "grid"


# The tiers a catalogue entry can assign handling to, lowest first.
class HandlingTier(StrEnum):
    GRID = "grid"
    TOWNSHIP = "township"
    COUNTY = "county"


WHISTLE_LEVEL_OF_TIER: dict[HandlingTier, int] = {
    HandlingTier.GRID: 1,
    HandlingTier.TOWNSHIP: 2,
    HandlingTier.COUNTY: 3,
}
TIER_OF_WHISTLE_LEVEL = {level: tier for tier, level in WHISTLE_LEVEL_OF_TIER.items()}


class DepartmentKind(StrEnum):
    COUNTY = "county"  # a county/district department (区县部门)
    TOWNSHIP = "township"  # a township office (街乡科室)
    COMMUNITY = "community"  # community/grid station handling level-1 whistles


class StaffRole(StrEnum):
    MEMBER = "member"
    LEADER = "leader"
    LIAISON = "liaison"
    GRID_WORKER = "grid_worker"


class DutyStatus(StrEnum):
    ON_DUTY = "on_duty"
    OFF = "off"
    AWAY = "away"


class PostSlot(StrEnum):
    A = "A"
    B = "B"


class PostMode(StrEnum):
    RESIDENT = "resident"  # 常驻
    ON_CALL = "on_call"  # 报到


class CaseClass(StrEnum):
    FACILITY = "facility"  # 部件
    EVENT = "event"  # 事件


class TimeUnit(StrEnum):
    SECONDS = "seconds"
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WORK_HOURS = "work_hours"
    WORK_DAYS = "work_days"


class Source(StrEnum):
    GRID_PATROL = "grid_patrol"
    HOTLINE_12345 = "hotline_12345"
    PUBLIC_APP = "public_app"
    REFERRAL = "referral"
    DEPARTMENT = "department"


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


class Role(StrEnum):
    ADMIN = "admin"
    COMMANDER = "commander"
    DISPATCHER = "dispatcher"
    TOWNSHIP_LEADER = "township_leader"
    GRID_WORKER = "grid_worker"
    DEPT_LIAISON = "dept_liaison"
    DEPT_STAFF = "dept_staff"
    WALL = "wall"
    AUDITOR = "auditor"


class SlaStatus(StrEnum):
    OK = "ok"
    WARNING = "warning"  # yellow on the walls
    BREACHED = "breached"  # red


class Supervision(StrEnum):
    """Who supervises an overdue case (督办)."""

    COUNTY = "county"
    CITY = "city"


class Satisfaction(StrEnum):
    """The resident's answer at the follow-up visit (回访)."""

    SATISFIED = "satisfied"  # 满意
    BASICALLY = "basically_satisfied"  # 基本满意
    UNSATISFIED = "unsatisfied"  # 不满意


class EvaluationReason(StrEnum):
    """The fixed reasons a township gives with its score for a department (一哨一考核)."""

    RESOLVED_WELL = "resolved_well"  # 处置得力
    QUICK_TO_REPORT = "quick_to_report"  # 报到迅速
    GOOD_COORDINATION = "good_coordination"  # 协同配合好
    SLOW_TO_REPORT = "slow_to_report"  # 报到迟缓
    NOT_RESOLVED = "not_resolved"  # 问题未解决
    PASSED_THE_BUCK = "passed_the_buck"  # 推诿扯皮
    POOR_ATTITUDE = "poor_attitude"  # 服务态度差
    PROBLEM_RECURRED = "problem_recurred"  # 问题反复
