"""Who may do what: one declarative table, iterated by the tests.

Three layers, each declared here:
- `ROUTES`: every (method, path) of the API names the permission (or case action) it
  needs and the scope its objects are judged by. `hub.auth.guard` enforces the first for
  every request, so an API key's grants are checked on every endpoint; a route missing
  from the table is refused (tests/test_access_matrix.py compares it with the OpenAPI spec).
- `ACTION_ROLES` / `PERMISSION_ROLES`: which roles hold each permission. An API key holds
  a permission only if its role does and the key was granted it by name.
- `TOPICS`: the same for each websocket topic kind.

Decisions (see also hub/auth/scope.py for what "in scope" means):
- The staff directory is for the people who work cases; walls see no names. Phone numbers
  (`staff.contact`) only to the roles that dispatch or call staff out: admin, commander,
  dispatcher, township leader, department liaison.
- Setting someone else's duty status (`duty.assign`) changes who is routed cases, so it is
  for the dispatch desk and a department's liaison, and only for staff whose region and
  every post lie inside the caller's scope (and, for the liaison, of their department).
  Anyone linked to a staff record sets their own.
- Posts, users, API keys, the catalogue and the working calendar are edited by admins only.
- Regions, departments and posts are visible along the caller's own line of the tree
  (their region, what is under it, and what is above it); users and API keys to admins;
  the audit log to admins and auditors (below the city: their subtree's users' entries);
  the catalogue and calendar to every role.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from hub.cases.machine import Action
from hub.enums import Role

R = Role


class Permission(StrEnum):
    CASE_READ = "case.read"
    CASE_CREATE = "case.create"
    CASE_ATTACH = "case.attach"
    REFERENCE_READ = "reference.read"
    STAFF_READ = "staff.read"
    STAFF_CONTACT = "staff.contact"
    STAFF_DUTY = "staff.duty"
    DUTY_ASSIGN = "duty.assign"
    CATALOGUE_EDIT = "catalogue.edit"
    ORG_EDIT = "org.edit"
    USERS_MANAGE = "users.manage"
    AUDIT_READ = "audit.read"
    ASSESSMENT_READ = "assessment.read"
    ASSESSMENT_EDIT = "assessment.edit"


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
    # The follow-up call (回访) is made by the desk or by the 12345 system (an API key).
    Action.FOLLOW_UP: _DISPATCH_DESK,
}

_STAFF_LINKED = frozenset({R.DEPT_STAFF, R.DEPT_LIAISON, R.GRID_WORKER})
_CALLS_STAFF = frozenset({R.ADMIN, R.COMMANDER, R.DISPATCHER, R.TOWNSHIP_LEADER, R.DEPT_LIAISON})
_DUTY_ASSIGNERS = _DISPATCH_DESK | {R.DEPT_LIAISON}

PERMISSION_ROLES: dict[Permission, frozenset[Role]] = {
    Permission.CASE_READ: frozenset(Role),
    Permission.CASE_CREATE: frozenset(
        {R.ADMIN, R.COMMANDER, R.DISPATCHER, R.TOWNSHIP_LEADER, R.GRID_WORKER, R.DEPT_LIAISON}
    ),
    # Evidence comes from whoever resolves or verifies.
    Permission.CASE_ATTACH: ACTION_ROLES[Action.RESOLVE] | ACTION_ROLES[Action.VERIFY],
    Permission.REFERENCE_READ: frozenset(Role),
    Permission.STAFF_READ: frozenset(Role) - {R.WALL},
    Permission.STAFF_CONTACT: _CALLS_STAFF,
    Permission.STAFF_DUTY: _DUTY_ASSIGNERS | _STAFF_LINKED,
    Permission.DUTY_ASSIGN: _DUTY_ASSIGNERS,
    Permission.CATALOGUE_EDIT: frozenset({R.ADMIN}),
    Permission.ORG_EDIT: frozenset({R.ADMIN}),
    Permission.USERS_MANAGE: frozenset({R.ADMIN}),
    Permission.AUDIT_READ: frozenset({R.ADMIN, R.AUDITOR}),
    # Scores and reports: the command desks, the township's leaders and the assessors.
    Permission.ASSESSMENT_READ: frozenset(
        {R.ADMIN, R.COMMANDER, R.DISPATCHER, R.TOWNSHIP_LEADER, R.AUDITOR}
    ),
    Permission.ASSESSMENT_EDIT: frozenset({R.ADMIN}),
}


def may(role: Role, what: Action | Permission) -> bool:
    if isinstance(what, Action):
        return role in ACTION_ROLES[what]
    return role in PERMISSION_ROLES[what]


class Scope(StrEnum):
    """What a route's objects are judged by; an object outside answers 404."""

    PUBLIC = "public"  # no credential at all (logging in)
    SELF = "self"  # the caller's own account
    CASE = "case"  # a case or what hangs off it: `case_scope`
    REGION = "region"  # regions along the caller's line (`region_visible`)
    ORG = "org"  # departments, staff, posts: `staff_scope`, `post_scope`, `department_scope`
    CITY = "city"  # city-wide data with no owner inside the tree (catalogue, calendar, admin)


@dataclass(frozen=True)
class Rule:
    # None: any authenticated caller, with or without grants (only their own account).
    permission: Permission | Action | None
    scope: Scope


P = Permission
_V1 = "/api/v1"
_READ_CASE = Rule(P.CASE_READ, Scope.CASE)
_REFERENCE = Rule(P.REFERENCE_READ, Scope.CITY)

ROUTES: dict[tuple[str, str], Rule] = {
    ("POST", f"{_V1}/auth/token"): Rule(None, Scope.PUBLIC),
    ("POST", f"{_V1}/auth/refresh"): Rule(None, Scope.PUBLIC),
    ("POST", f"{_V1}/auth/logout"): Rule(None, Scope.SELF),
    ("GET", f"{_V1}/auth/me"): Rule(None, Scope.SELF),
    # The wire contract: code tables and labels, which the login page needs before login.
    ("GET", f"{_V1}/meta"): Rule(None, Scope.PUBLIC),
    ("GET", f"{_V1}/users"): Rule(P.USERS_MANAGE, Scope.CITY),
    ("POST", f"{_V1}/users"): Rule(P.USERS_MANAGE, Scope.CITY),
    ("PATCH", f"{_V1}/users/{{user_id}}"): Rule(P.USERS_MANAGE, Scope.CITY),
    ("GET", f"{_V1}/api-keys"): Rule(P.USERS_MANAGE, Scope.CITY),
    ("POST", f"{_V1}/api-keys"): Rule(P.USERS_MANAGE, Scope.CITY),
    ("DELETE", f"{_V1}/api-keys/{{key_id}}"): Rule(P.USERS_MANAGE, Scope.CITY),
    ("GET", f"{_V1}/audit/log"): Rule(P.AUDIT_READ, Scope.CITY),
    # A region's figures: its own callers and those above it (the view checks the code).
    ("GET", f"{_V1}/assessment/{{code}}/indicators"): Rule(P.ASSESSMENT_READ, Scope.REGION),
    ("GET", f"{_V1}/assessment/{{code}}/rankings"): Rule(P.ASSESSMENT_READ, Scope.REGION),
    ("GET", f"{_V1}/assessment/{{code}}/unassessed"): Rule(P.ASSESSMENT_READ, Scope.REGION),
    ("GET", f"{_V1}/reports/{{code}}/{{report}}"): Rule(P.ASSESSMENT_READ, Scope.REGION),
    ("GET", f"{_V1}/assessment/schemes"): Rule(P.ASSESSMENT_READ, Scope.CITY),
    ("POST", f"{_V1}/assessment/schemes"): Rule(P.ASSESSMENT_EDIT, Scope.CITY),
    ("GET", f"{_V1}/audit/chains"): Rule(P.AUDIT_READ, Scope.CITY),
    ("GET", f"{_V1}/regions"): Rule(P.REFERENCE_READ, Scope.REGION),
    ("GET", f"{_V1}/regions/{{code}}"): Rule(P.REFERENCE_READ, Scope.REGION),
    ("GET", f"{_V1}/departments"): Rule(P.REFERENCE_READ, Scope.ORG),
    ("GET", f"{_V1}/posts"): Rule(P.REFERENCE_READ, Scope.ORG),
    ("PUT", f"{_V1}/posts"): Rule(P.ORG_EDIT, Scope.ORG),
    ("GET", f"{_V1}/staff"): Rule(P.STAFF_READ, Scope.ORG),
    ("PATCH", f"{_V1}/staff/{{staff_id}}/duty"): Rule(P.STAFF_DUTY, Scope.ORG),
    ("GET", f"{_V1}/catalogue"): _REFERENCE,
    ("POST", f"{_V1}/catalogue"): Rule(P.CATALOGUE_EDIT, Scope.CITY),
    ("GET", f"{_V1}/catalogue/{{code}}"): _REFERENCE,
    ("PUT", f"{_V1}/catalogue/{{code}}"): Rule(P.CATALOGUE_EDIT, Scope.CITY),
    ("DELETE", f"{_V1}/catalogue/{{code}}"): Rule(P.CATALOGUE_EDIT, Scope.CITY),
    ("GET", f"{_V1}/catalogue/{{code}}/versions"): _REFERENCE,
    ("GET", f"{_V1}/sla/calendar"): _REFERENCE,
    ("GET", f"{_V1}/sla/calendar/{{year}}"): _REFERENCE,
    ("PUT", f"{_V1}/sla/calendar/{{year}}"): Rule(P.CATALOGUE_EDIT, Scope.CITY),
    ("POST", f"{_V1}/cases"): Rule(P.CASE_CREATE, Scope.CASE),
    ("GET", f"{_V1}/cases"): _READ_CASE,
    ("GET", f"{_V1}/cases/export.csv"): _READ_CASE,
    ("GET", f"{_V1}/cases/{{case_id}}"): _READ_CASE,
    ("GET", f"{_V1}/cases/{{case_id}}/events"): _READ_CASE,
    ("GET", f"{_V1}/cases/{{case_id}}/deadlines"): _READ_CASE,
    ("GET", f"{_V1}/cases/{{case_id}}/attachments"): _READ_CASE,
    ("POST", f"{_V1}/cases/{{case_id}}/attachments"): Rule(P.CASE_ATTACH, Scope.CASE),
    ("GET", f"{_V1}/attachments/{{attachment_id}}"): _READ_CASE,
    ("GET", f"{_V1}/screens/home"): Rule(P.CASE_READ, Scope.SELF),
    ("GET", f"{_V1}/screens/map/{{code}}"): Rule(P.CASE_READ, Scope.REGION),
    ("GET", f"{_V1}/screens/stats/{{code}}"): Rule(P.CASE_READ, Scope.REGION),
    ("GET", f"{_V1}/screens/cases/{{case_id}}/routing"): Rule(Action.DISPATCH, Scope.CASE),
} | {("POST", f"{_V1}/cases/{{case_id}}/{a.value}"): Rule(a, Scope.CASE) for a in Action}

# Operations routes outside /api/v1, open without a credential (and without the guard):
# the load balancer's health check and Prometheus' scrape (counts by state, no cases).
UNGUARDED: frozenset[tuple[str, str]] = frozenset({("GET", "/healthz"), ("GET", "/metrics")})

# Websocket topics (hub/realtime/protocol.py `Topic.kind`), checked in hub/realtime/subscribe.py.
TOPICS: dict[str, Rule] = {
    "region": Rule(P.CASE_READ, Scope.REGION),
    "case": Rule(P.CASE_READ, Scope.CASE),
    "department": Rule(P.CASE_READ, Scope.ORG),
    "inbox": Rule(P.CASE_READ, Scope.SELF),
}
