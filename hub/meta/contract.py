"""The wire contract: the domain's code tables as one document the screens load.

Built from the tables themselves (the state machine, the action bodies, the event
catalogue, the permission table, the ladder's enums), never restated, so a screen cannot
drift from the server. Pure: no I/O, and the same document for every caller."""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from hub.auth.permissions import ACTION_ROLES, PERMISSION_ROLES
from hub.cases.events import CATALOGUE
from hub.cases.machine import (
    MAX_WHISTLE_LEVEL,
    OPEN_STATES,
    QUEUE_STATES,
    TERMINAL_STATES,
    TRANSITIONS,
    WITH_DEPARTMENT,
    Action,
    CaseState,
)
from hub.cases.schemas import ACTION_BODIES
from hub.meta import labels as L

# Bumped when the document's shape changes in a way an older screen cannot read.
SCHEMA = 1


@cache
def document() -> dict[str, Any]:
    body: dict[str, Any] = {
        "schema": SCHEMA,
        "states": L.labelled(L.STATES),
        "state_sets": {
            "open": _ordered(OPEN_STATES),
            "terminal": _ordered(TERMINAL_STATES),
            "with_department": _ordered(WITH_DEPARTMENT),
            "queue": _ordered(QUEUE_STATES),
        },
        "actions": [_action(a) for a in Action],
        "events": [
            {
                "type": kind.value,
                "label": {"zh": spec.label_zh, "en": spec.label_en},
                "ticker": spec.ticker,
            }
            for kind, spec in CATALOGUE.items()
        ],
        "whistle": {
            "max_level": MAX_WHISTLE_LEVEL,
            "levels": [
                {"level": n, "label": L.pair(label)} for n, label in L.WHISTLE_LEVELS.items()
            ],
        },
        "roles": [
            {
                "code": role.value,
                "label": L.pair(label),
                "actions": [a.value for a in Action if role in ACTION_ROLES[a]],
                "permissions": [p.value for p, roles in PERMISSION_ROLES.items() if role in roles],
            }
            for role, label in L.ROLES.items()
        ],
        "permissions": L.labelled(L.PERMISSIONS),
        "sources": L.labelled(L.SOURCES),
        "priorities": L.labelled(L.PRIORITIES),
        "sla_statuses": L.labelled(L.SLA_STATUSES),
        "tiers": L.labelled(L.TIERS),
        "supervisions": L.labelled(L.SUPERVISIONS),
        "steps": L.labelled(L.STEPS),
        "rungs": L.labelled(L.RUNGS),
        "ranks": L.labelled(L.RANKS),
        "errors": [{"code": code, "message": L.pair(text)} for code, text in L.ERRORS.items()],
    }
    # The version is the content's hash: it changes exactly when the contract does, so it
    # is also the ETag and a cache key a screen can keep across reloads.
    body["version"] = hashlib.sha256(_canonical(body)).hexdigest()[:16]
    return body


@cache
def encoded() -> bytes:
    return _canonical(document())


def _canonical(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _ordered(states: frozenset[CaseState]) -> list[str]:
    return [s.value for s in CaseState if s in states]


def _action(action: Action) -> dict[str, Any]:
    body = ACTION_BODIES[action]
    return {
        "code": action.value,
        "label": L.pair(L.ACTIONS[action]),
        "from_states": [s.value for s in CaseState if action in TRANSITIONS[s]],
        "fields": [_field(name, info, body) for name, info in _body_fields(body)],
    }


def _body_fields(body: type[BaseModel]) -> list[tuple[str, FieldInfo]]:
    # `version` is the optimistic lock every action carries: the screen fills it itself.
    return [(name, info) for name, info in body.model_fields.items() if name != "version"]


def _field(name: str, info: FieldInfo, body: type[BaseModel]) -> dict[str, Any]:
    """A body field as a form needs it, read from the model's own JSON Schema so that the
    limits a screen enforces are the ones the server checks."""
    schema = body.model_json_schema()["properties"][name]
    # An optional field is `anyOf: [{type: X}, {type: null}]`; its constraints sit on X.
    variants = [v for v in schema.get("anyOf", [schema]) if v.get("type") != "null"]
    spec = variants[0] if variants else schema
    out: dict[str, Any] = {
        "name": name,
        "type": spec.get("type", "string"),
        "required": info.is_required(),
        "label": L.pair(L.FIELDS[name]),
    }
    for key in ("minimum", "maximum", "minLength", "maxLength", "maxItems"):
        if key in spec:
            out[key] = spec[key]
    # An enum (or a list of one) comes with its choices and their labels.
    ref = (spec.get("items") or spec).get("$ref", "")
    if ref:
        name_of_enum = ref.rsplit("/", 1)[-1]
        out["options"] = L.labelled(L.ENUM_OPTIONS[name_of_enum])
    return out
