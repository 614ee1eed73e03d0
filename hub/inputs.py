"""The rules every HTTP input obeys, whichever route reads it: text passes
`hub.schemas.text_fault` and numbers are finite (Python's JSON reader takes NaN,
Infinity and 1e999, none of which is JSON or means anything here). One dependency of
the API router checks the query, the path, the headers (HTTP servers refuse control
characters in them; an ASGI client need not), JSON bodies and form fields before the
route's own validation runs, and answers 422 naming each place at fault."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.params import Form
from fastapi.routing import APIRoute
from starlette.datastructures import UploadFile

from hub.schemas import text_fault

Loc = tuple[str | int, ...]
MAX_FAULTS = 20


def input_faults(value: object, loc: Loc) -> list[dict[str, Any]]:
    """Every string (keys too) and number in a parsed JSON value that breaks the rules.
    Iterative: a body nested a thousand deep must not exhaust the stack."""
    found: list[dict[str, Any]] = []
    todo: list[tuple[Loc, object]] = [(loc, value)]
    while todo and len(found) < MAX_FAULTS:
        here, item = todo.pop()
        if isinstance(item, str):
            fault = text_fault(item)
            if fault is not None:
                found.append(_fault("string_forbidden_character", here, fault, item))
        elif isinstance(item, float):
            if not math.isfinite(item):
                found.append(_fault("finite_number", here, "Input should be a finite number", item))
        elif isinstance(item, dict):
            for key, sub in item.items():
                fault = text_fault(key) if isinstance(key, str) else None
                if fault is not None:
                    found.append(
                        _fault("string_forbidden_character", (*here, key), f"name: {fault}", key)
                    )
                todo.append(((*here, key), sub))
        elif isinstance(item, list | tuple):
            todo.extend(((*here, i), sub) for i, sub in enumerate(item))
    return found


def _fault(kind: str, loc: Loc, msg: str, value: object) -> dict[str, Any]:
    return {"type": kind, "loc": loc, "msg": msg, "input": value}


async def refuse_bad_input(request: Request) -> None:
    found: list[dict[str, Any]] = []
    for name, value in request.query_params.multi_items():
        found += input_faults({name: value}, ("query",))
    found += input_faults(dict(request.path_params), ("path",))
    # Credentials too: an X-API-Key with NUL reached PostgreSQL in the key lookup.
    for name, value in request.headers.items():
        found += input_faults({name: value}, ("header",))
    for part in await _body_parts(request):
        found += input_faults(part, ("body",))
    if found:
        # Reported in the order the request reads, not the order the walk found them.
        found.sort(key=lambda f: [str(part) for part in f["loc"]])
        raise RequestValidationError(found[:MAX_FAULTS])


async def _body_parts(request: Request) -> list[object]:
    """The body as FastAPI has already parsed it for the route (Starlette keeps the
    parsed form and JSON on the request): one part per form field, or the JSON value."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or route.body_field is None:
        return []
    if isinstance(route.body_field.field_info, Form):
        form = await request.form()
        return [
            {name: value.filename if isinstance(value, UploadFile) else value}
            for name, value in form.multi_items()
        ]
    media = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media != "application/json" and not (
        media.startswith("application/") and media.endswith("+json")
    ):
        return []  # not read as JSON: the route's own validation refuses it
    if not await request.body():
        return []
    try:
        return [await request.json()]
    except ValueError:  # already answered as malformed JSON before dependencies run
        return []
