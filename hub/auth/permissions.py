"""Who may do what: one declarative table, iterated by the tests."""

from __future__ import annotations

from enum import StrEnum

from hub.cases.machine import Action
from hub.enums import Role

R = Role


class Permission(StrEnum):
    CASE_READ = "case.read"
    CASE_CREATE = "case.create"
    CATALOGUE_EDIT = "catalogue.edit"
    ORG_EDIT = "org.edit"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"


_DISPATCH_DESK = frozenset({R.ADMIN, R.COMMANDER, R.DISPATCHER})
_DEPARTMENT = frozenset({R.ADMIN, R.DEPT_LIAISON, R.DEPT_STAFF, R.GRID_WORKER})
_TOWNSHIP_CHECK = frozenset({R.ADMIN, R.COMMANDER, R.DISPATCHER, R.TOWNSHIP_LEADER})

ACTION_ROLES: dict[Action, frozenset[Role]] = {
    Action.CLASSIFY: _DISPATCH_DESK,
    Action.DISPATCH: _DISPATCH_DESK,
    Action.TRANSFER: _DISPATCH_DESK | {R.DEPT_LIAISON},
    Action.MERGE: _DISPATCH_DESK,
    Action.CANCEL: _DISPATCH_DESK,
    Action.REOPEN: _DISPATCH_DESK,
    Action.CONFIRM_WHISTLE: frozenset({R.ADMIN, R.COMMANDER, R.TOWNSHIP_LEADER}),
    Action.ACKNOWLEDGE: _DEPARTMENT,
    Action.CHECK_IN: _DEPARTMENT,
    Action.RESOLVE: _DEPARTMENT,
    Action.RETURN: frozenset({R.ADMIN, R.DEPT_LIAISON, R.DEPT_STAFF}),
    Action.ESCALATE: _TOWNSHIP_CHECK | {R.GRID_WORKER},
    Action.VERIFY: _TOWNSHIP_CHECK,
    Action.REJECT: _TOWNSHIP_CHECK,
    Action.CLOSE: _TOWNSHIP_CHECK,
    Action.EVALUATE: _TOWNSHIP_CHECK,
}

PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.CASE_READ: frozenset(Role),
    Permission.CASE_CREATE: frozenset(
        {R.ADMIN, R.COMMANDER, R.DISPATCHER, R.TOWNSHIP_LEADER, R.GRID_WORKER, R.DEPT_LIAISON}
    ),
    Permission.CATALOGUE_EDIT: frozenset({R.ADMIN}),
    Permission.ORG_EDIT: frozenset({R.ADMIN}),
    Permission.USERS_MANAGE: frozenset({R.ADMIN}),
    Permission.AUDIT_READ: frozenset({R.ADMIN, R.AUDITOR}),
}


def may(role: Role, what: Action | Permission) -> bool:
    if isinstance(what, Action):
        return role in ACTION_ROLES[what]
    return role in PERMISSION_ROLES[what]
