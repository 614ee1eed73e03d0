"""The wire contract (GET /api/v1/meta): complete, derived from the code tables, cached by
ETag, and the errors and allowed actions a screen shows come from it."""

from __future__ import annotations

import ast
import importlib
import pathlib
from enum import StrEnum
from typing import Any

import httpx
import pytest

from hub import errors
from hub.auth.permissions import ACTION_ROLES, Permission
from hub.cases.events import CATALOGUE
from hub.cases.machine import MAX_WHISTLE_LEVEL, TRANSITIONS, Action, CaseState, case_actions
from hub.cases.schemas import ACTION_BODIES
from hub.enums import HandlingTier, Priority, Role, SlaStatus, Source, Supervision
from hub.meta import labels as L
from hub.meta.contract import document
from hub.sla.ladder import RungAction, Step
from hub.sla.reach import Rank
from tests.helpers import Api, Auth
from tests.world import World

TABLES: list[tuple[type[StrEnum], dict[Any, L.Label]]] = [
    (CaseState, L.STATES),
    (Action, L.ACTIONS),
    (Role, L.ROLES),
    (Permission, L.PERMISSIONS),
    (Source, L.SOURCES),
    (Priority, L.PRIORITIES),
    (SlaStatus, L.SLA_STATUSES),
    (HandlingTier, L.TIERS),
    (Supervision, L.SUPERVISIONS),
    (Step, L.STEPS),
    (RungAction, L.RUNGS),
    (Rank, L.RANKS),
]
ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("enum", "table"), TABLES, ids=lambda v: getattr(v, "__name__", ""))
def test_every_code_has_both_labels(enum: type[StrEnum], table: dict[Any, L.Label]) -> None:
    assert list(table) == list(enum), f"{enum.__name__}: labels missing or out of order"
    for code, (zh, en) in table.items():
        assert zh.strip() and en.strip(), code


def test_every_action_field_and_event_is_labelled() -> None:
    for action, body in ACTION_BODIES.items():
        for name in body.model_fields:
            assert name == "version" or name in L.FIELDS, f"{action}: field {name} has no label"
    for kind, spec in CATALOGUE.items():
        assert spec.label_zh and spec.label_en, kind
    assert set(L.WHISTLE_LEVELS) == set(range(MAX_WHISTLE_LEVEL + 1))


def _raised_kinds() -> set[str]:
    """Every "code.kind" the hub can raise, read from its source: a HubError subclass
    called with a literal `kind=`."""
    classes = {
        cls.__name__: cls.code for cls in _subclasses(errors.HubError) if cls.__name__ != "Busy"
    }
    found: set[str] = set()
    for path in (ROOT / "hub").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            code = classes.get(node.func.id)
            for kw in node.keywords:
                value = kw.value.value if isinstance(kw.value, ast.Constant) else None
                if code and kw.arg == "kind" and isinstance(value, str):
                    found.add(f"{code}.{value}")
    return found


def _subclasses(cls: type[errors.HubError]) -> list[type[errors.HubError]]:
    out = [cls]
    for sub in cls.__subclasses__():
        out += _subclasses(sub)
    return out


def test_every_error_code_and_kind_has_a_message() -> None:
    for module in ("hub.attachments.views", "hub.db"):  # they define HubError subclasses
        importlib.import_module(module)

    codes = {cls.code for cls in _subclasses(errors.HubError)}
    codes |= set(errors._HTTP_CODES.values()) | {"internal", "http_error", "invalid"}
    assert codes - set(L.ERRORS) == set()
    kinds = _raised_kinds()
    assert {"conflict.stale_version", "conflict.unroutable", "forbidden.scope"} <= kinds
    kinds |= {"forbidden.role", "forbidden.grant"}  # Principal.check picks one at run time
    assert kinds - set(L.ERRORS) == set(), "a raised kind without a message"
    for code, (zh, en) in L.ERRORS.items():
        # Both languages fill the same placeholders from the error body.
        assert _placeholders(zh) == _placeholders(en), code


def _placeholders(text: str) -> set[str]:
    import string

    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_document_is_derived_from_the_tables() -> None:
    doc = document()
    assert [s["code"] for s in doc["states"]] == [s.value for s in CaseState]
    by_code = {a["code"]: a for a in doc["actions"]}
    for action in Action:
        entry = by_code[action.value]
        assert set(entry["from_states"]) == {s.value for s in CaseState if action in TRANSITIONS[s]}
        fields = {f["name"]: f for f in entry["fields"]}
        assert set(fields) == set(ACTION_BODIES[action].model_fields) - {"version"}
    # Limits are the server's own: the evaluate form cannot offer a score of 6.
    evaluate = {f["name"]: f for f in by_code["evaluate"]["fields"]}
    assert evaluate["resident_satisfaction"]["maximum"] == 5
    assert evaluate["resident_satisfaction"]["type"] == "integer"
    roles = {r["code"]: r for r in doc["roles"]}
    assert "escalate" in roles["dispatcher"]["actions"]
    assert set(roles["wall"]["actions"]) == {
        a.value for a in Action if Role.WALL in ACTION_ROLES[a]
    }
    assert {e["type"] for e in doc["events"]} == {k.value for k in CATALOGUE}
    assert doc["whistle"]["max_level"] == MAX_WHISTLE_LEVEL


async def test_meta_is_public_and_revalidates_by_etag(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/meta")
    assert r.status_code == 200
    etag = r.headers["etag"]
    assert etag == f'"{r.json()["version"]}"' and r.headers["cache-control"] == "no-cache"
    again = await client.get("/api/v1/meta", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    other = await client.get("/api/v1/meta", headers={"If-None-Match": '"stale"'})
    assert other.status_code == 200 and other.json() == r.json()


def test_escalate_is_not_offered_at_the_top_level() -> None:
    assert Action.ESCALATE in case_actions(CaseState.DISPATCHED, MAX_WHISTLE_LEVEL - 1)
    assert Action.ESCALATE not in case_actions(CaseState.DISPATCHED, MAX_WHISTLE_LEVEL)


async def test_level3_case_offers_no_escalate_and_says_why(
    client: httpx.AsyncClient, auth: Auth, world: World
) -> None:
    api = Api(client, auth)
    case = await api.create(category_code="G01")
    case = await api.act("gridworker", case, "escalate", reason="社区无法处理")
    assert "escalate" in case["allowed_actions"]
    case = await api.act("dispatcher", case, "escalate", reason="需要区级部门")
    assert case["whistle_level"] == 3
    assert "escalate" not in case["allowed_actions"]
    r = await api.act_raw("dispatcher", case, "escalate", reason="again")
    assert r.status_code == 409
    body = r.json()
    assert body["kind"] == "illegal_transition" and body["action"] == "escalate"
    assert body["allowed_actions"] == case["allowed_actions"]
    # Any refused action lists the case's actions, not its state's: no escalate at level 3
    # once the leader has confirmed and the county department holds the case.
    await api.act("leader", case, "confirm-whistle")
    case = await api.get(case["id"], "dispatcher")
    assert case["state"] == "dispatched" and "transfer" in case["allowed_actions"]
    assert "escalate" not in case["allowed_actions"]
    closing = await api.act_raw("dispatcher", case, "close")
    assert closing.status_code == 409
    assert closing.json()["allowed_actions"] == case["allowed_actions"]
    stale = await api.act_raw("dispatcher", {**case, "version": 1}, "cancel", reason="x")
    assert stale.status_code == 409 and stale.json()["kind"] == "stale_version"


async def test_forbidden_names_the_kind_and_what_is_missing(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    api = Api(client, auth)
    case = await api.create()
    r = await api.act_raw("wall", case, "cancel", reason="x")
    assert r.status_code == 403
    assert r.json()["kind"] == "role" and r.json()["missing"] == "cancel"
