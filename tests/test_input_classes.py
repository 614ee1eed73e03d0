"""Whole classes of bad input, over every operation the OpenAPI spec publishes. Each
string parameter, body field or credential header gets NUL, another control character,
a lone surrogate (where one can be written at all: only JSON can) and 100 KB of text;
each number NaN, Infinity, 1e999, -1 and 2**70; each date-time the edges of years 1 and
9999, each date years 1 and 9999. The answer is always a 4xx in the JSON error shape, a
refusal that the input rules own (text, finite numbers, times) is a 422 naming the
place, and no refused request changes a case or its timeline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from sqlmodel import col, select

from hub.cases.models import Case, CaseEvent
from hub.deps import Hub
from hub.main import create_app
from tests.helpers import GRID, Api, Auth
from tests.world import World

Loc = tuple[str | int, ...]
# A value of a body field that json.dumps cannot write: spliced in as a raw token.
_RAW = "\ue000raw:"
EXAMPLES_BY_PATTERN = {
    r"^\d{15}$": GRID,
    r"^\d{4,15}$": "339901",
    r"^\d{4,9}$": "339901",
    r"^[A-Za-z0-9_.-]{1,32}$": "T01",
    r"^[A-Za-z0-9_.-]+$": "probe_1",
    r"^[\x21-\x7e]+$": "probe-key-1",
    r"^password$": "password",
}
BIG = "x" * 100_000
# httpx refuses URLs over 64 KiB (and servers lines over 16 KiB): as long as a URL gets.
BIG_IN_URL = "x" * 60_000


@dataclass(frozen=True)
class Bad:
    label: str
    value: object  # a JSON value in a body; text anywhere else
    named: bool  # must be a 422 whose detail names the place
    refused: bool = True  # must be a 4xx (else any answer but a 5xx)


TEXT = (
    Bad("NUL", "a\x00b", named=True),
    Bad("ESC", "a\x1bb", named=True),
    Bad("100 KB", BIG, named=False),
)
SURROGATE = Bad("lone surrogate", "a\ud800b", named=True)
NUMBERS_JSON = (
    Bad("NaN", _RAW + "NaN", named=True),
    Bad("Infinity", _RAW + "Infinity", named=True),
    Bad("-Infinity", _RAW + "-Infinity", named=True),
    Bad("1e999", _RAW + "1e999", named=True),
    Bad("-1", -1, named=False, refused=False),
    Bad("2**70", 2**70, named=False),
)
NUMBERS_TEXT = (
    Bad("NaN", "NaN", named=True),
    Bad("Infinity", "Infinity", named=True),
    Bad("1e999", "1e999", named=True),
    Bad("-1", "-1", named=False, refused=False),
    Bad("2**70", str(2**70), named=False),
)
DATE_TIMES = (
    Bad("year 1 at +08:00", "0001-01-01T00:00:00+08:00", named=True),
    Bad("year 9999 at -08:00", "9999-12-31T23:59:59-08:00", named=True),
)
DATES = (
    Bad("year 1", "0001-01-01", named=False),
    Bad("year 9999", "9999-12-31", named=False),
)


def bad_values(kind: str, where: str) -> tuple[Bad, ...]:
    numbers = NUMBERS_JSON if where == "body" else NUMBERS_TEXT
    text: tuple[Bad, ...] = (*TEXT, SURROGATE) if where == "body" else TEXT
    if where in ("query", "path"):
        text = tuple(Bad(b.label, BIG_IN_URL, b.named) if b.value == BIG else b for b in text)
    return {
        "string": text,
        "date-time": (*text, *DATE_TIMES),
        "date": (*text, *DATES),
        "integer": (*text, *numbers) if where != "body" else numbers,
        "number": (*text, *numbers) if where != "body" else numbers,
    }.get(kind, ())


@dataclass
class Spec:
    doc: dict[str, Any]
    known: dict[str, object]  # field values that name real rows, so more probes get deep

    def resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            node: Any = self.doc
            for part in schema["$ref"].removeprefix("#/").split("/"):
                node = node[part]
            schema = node
        options = [s for s in schema.get("anyOf", schema.get("oneOf", [])) if s != {"type": "null"}]
        if options:
            return self.resolve(options[0])
        if "allOf" in schema:
            return self.resolve(schema["allOf"][0])
        return schema

    def kind(self, schema: dict[str, Any]) -> str:
        schema = self.resolve(schema)
        if schema.get("type") == "array":
            return self.kind(schema.get("items", {}))
        if schema.get("type") == "string" and schema.get("format") in ("date-time", "date"):
            return str(schema["format"])
        if "contentMediaType" in schema or schema.get("format") == "binary":
            return "binary"
        return str(schema.get("type", "any"))

    def example(self, schema: dict[str, Any], at: Loc, leaves: list[tuple[Loc, str]]) -> Any:
        """A value the schema accepts, recording each leaf with the kind of value it is."""
        schema = self.resolve(schema)
        if at and at[-1] in self.known:
            leaves.append((at, self.kind(schema)))
            return self.known[str(at[-1])]
        if "enum" in schema:
            leaves.append((at, "string"))
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object" or "properties" in schema:
            return {
                name: self.example(sub, (*at, name), leaves)
                for name, sub in schema.get("properties", {}).items()
            }
        if kind == "array":
            return [self.example(schema.get("items", {}), (*at, 0), leaves)]
        leaves.append((at, self.kind(schema)))
        return scalar_example(schema)


def scalar_example(schema: dict[str, Any]) -> Any:
    kind = schema.get("type")
    if schema.get("format") == "date-time":
        return "2026-11-23T10:00:00+08:00"
    if schema.get("format") == "date":
        return "2026-11-23"
    if kind == "string":
        if "pattern" in schema:
            assert schema["pattern"] in EXAMPLES_BY_PATTERN, (
                f"give tests/test_input_classes.py an example for {schema['pattern']!r}"
            )
            return EXAMPLES_BY_PATTERN[schema["pattern"]]
        return "x" * max(int(schema.get("minLength", 1)), 4)
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0) + 1)
        high = schema.get("maximum", low)
        return low if kind == "integer" else (low + high) / 2
    if kind == "boolean":
        return False
    return None


@dataclass(frozen=True)
class Probe:
    operation: str
    where: str
    loc: Loc  # the place the answer must name: ("query", name), ("body", "sla", ...)
    bad: Bad
    request: httpx.Request


def probes(spec: Spec, base: str, path_values: dict[str, str], token: str) -> Iterator[Probe]:
    for template, item in spec.doc["paths"].items():
        for method, op in item.items():
            operation = f"{method.upper()} {template}"
            params = op.get("parameters", [])
            path_now = {
                p["name"]: path_values.get(p["name"])
                or str(scalar_example(spec.resolve(p["schema"])))
                for p in params
                if p["in"] == "path"
            }

            def url(path: dict[str, str], query: str = "", template: str = template) -> str:
                filled = template
                for name, value in path.items():
                    filled = filled.replace("{" + name + "}", quote(value, safe=""))
                return f"{base}{filled}" + (f"?{query}" if query else "")

            headers = {"Authorization": f"Bearer {token}"}
            for param in params:
                where, name = param["in"], param["name"]
                for bad in bad_values(spec.kind(param["schema"]), where):
                    text = str(bad.value)
                    if where == "query":
                        target = url(path_now, f"{quote(name)}={quote(text, safe='')}")
                        request = httpx.Request(method, target, headers=headers)
                    elif where == "path":
                        request = httpx.Request(
                            method, url({**path_now, name: text}), headers=headers
                        )
                    else:
                        request = httpx.Request(
                            method, url(path_now), headers={**headers, name: text}
                        )
                    yield Probe(operation, where, (where, name), bad, request)
            for header, prefix, suffix in security_headers(spec, op):
                for bad in bad_values("string", "header"):
                    value = f"{prefix}{bad.value}{suffix}"
                    request = httpx.Request(method, url(path_now), headers={header: value})
                    yield Probe(operation, "header", ("header", header.lower()), bad, request)
            content = op.get("requestBody", {}).get("content", {})
            for media, body_spec in content.items():
                leaves: list[tuple[Loc, str]] = []
                body = spec.example(body_spec["schema"], (), leaves)
                for at, kind in leaves:
                    for bad in bad_values(kind, "body"):
                        if media != "application/json" and bad is SURROGATE:
                            continue  # a form has no way to write one
                        encoded = encode_body(media, replaced(body, at, bad.value))
                        if encoded is None:
                            continue
                        request = httpx.Request(
                            method,
                            url(path_now),
                            content=encoded,
                            headers={**headers, "Content-Type": media},
                        )
                        yield Probe(operation, "body", ("body", *at), bad, request)


def security_headers(spec: Spec, op: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(header, text before, text after) for each way the operation takes a credential,
    shaped so the bad text gets as far as it can (an API key's prefix is looked up)."""
    schemes = spec.doc.get("components", {}).get("securitySchemes", {})
    found = []
    for requirement in op.get("security", []):
        for name in requirement:
            scheme = schemes[name]
            if scheme["type"] == "apiKey" and scheme["in"] == "header":
                found.append((str(scheme["name"]), "hub_", "_secret"))
            elif scheme["type"] == "oauth2" or scheme.get("scheme") == "bearer":
                found.append(("Authorization", "Bearer ", ".x.y"))
    return found


def replaced(body: Any, at: Loc, value: object) -> Any:
    if not at:
        return value
    head, rest = at[0], at[1:]
    if isinstance(body, list):
        return [replaced(v, rest, value) if i == head else v for i, v in enumerate(body)]
    return {k: replaced(v, rest, value) if k == head else v for k, v in body.items()}


def encode_body(media: str, body: Any) -> bytes | None:
    if media == "application/json":
        text = json.dumps(body)
        for token in ("NaN", "Infinity", "-Infinity", "1e999"):
            text = text.replace(json.dumps(_RAW + token), token)
        return text.encode()
    if media == "application/x-www-form-urlencoded":
        return "&".join(f"{quote(k)}={quote(str(v), safe='')}" for k, v in body.items()).encode()
    return None  # multipart: the file part is probed in tests/test_bad_input.py


async def timeline(hub: Hub) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    async with hub.db.read() as s:
        cases = (await s.exec(select(Case).order_by(col(Case.id)))).all()
        events = (await s.exec(select(CaseEvent).order_by(col(CaseEvent.id)))).all()
    return [c.model_dump() for c in cases], [e.model_dump() for e in events]


def _names(answer: httpx.Response, loc: Loc) -> bool:
    wanted = [str(part) for part in loc]
    return any([str(p) for p in d.get("loc", [])] == wanted for d in answer.json()["detail"])


async def test_every_operation_refuses_each_class_of_bad_input(
    hub: Hub, world: World, auth: Auth
) -> None:
    app = create_app(hub=hub)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        case = await Api(client, auth).create(category_code="T01")
        known = {"version": case["version"], "category_code": "T01", "grid_code": GRID}
        spec = Spec((await client.get("/openapi.json")).json(), known)
        path_values = {
            "case_id": str(case["id"]),
            "user_id": str(world.user["staff"]),
            "staff_id": str(next(iter(world.staff.values()))),
            "key_id": "1",
            "attachment_id": "1",
            "year": "2026",
        }
        token = auth("admin")["Authorization"].removeprefix("Bearer ")
        before = await timeline(hub)
        failures: list[str] = []
        sent = 0
        statuses: dict[int, int] = {}
        for probe in probes(spec, "http://hub.test", path_values, token):
            answer = await client.send(probe.request)
            sent += 1
            statuses[answer.status_code] = statuses.get(answer.status_code, 0) + 1
            what = f"{probe.operation} {'.'.join(map(str, probe.loc))} <- {probe.bad.label}"
            status = answer.status_code
            after = await timeline(hub)
            if status >= 400 and after != before:
                failures.append(f"{what}: refused with {status} but stored data changed")
            before = after
            if status >= 500 or (probe.bad.refused and not 400 <= status < 500):
                failures.append(f"{what}: {status} {answer.text[:200]}")
            elif status >= 400:
                shape = answer.headers.get("content-type", "").startswith("application/json")
                body = answer.json() if shape else {}
                if not shape or not {"error", "message"} <= body.keys():
                    failures.append(f"{what}: {status} not the JSON error shape")
                elif probe.bad.named and (status != 422 or not _names(answer, probe.loc)):
                    failures.append(
                        f"{what}: {status} does not name the place: {answer.text[:200]}"
                    )
        print(f"{sent} probes, answers {sorted(statuses.items())}")
        assert sent > 500, "the spec walk found too little to probe"
        assert not failures, "\n".join(failures)
