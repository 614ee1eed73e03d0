"""The responsibility list is versioned: edits never rewrite what a case was routed with."""

from __future__ import annotations

import httpx

from tests.helpers import Api, Auth


async def test_editing_an_entry_keeps_history_and_cases_in_flight(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    api = Api(client, auth)
    old_case = await api.create(category_code="T01")
    entry = (await client.get("/api/v1/catalogue/T01", headers=auth("admin"))).json()
    edit = {
        k: entry[k]
        for k in (
            "name_zh",
            "name_en",
            "pinyin",
            "case_class",
            "tier",
            "primary_department",
            "cooperating_departments",
            "escalation_department",
            "ack_within",
            "ack_unit",
            "checkin_within",
            "checkin_unit",
            "resolve_within",
            "resolve_unit",
            "needs_confirmation",
        )
    }
    edit["resolve_within"] = 1
    r = await client.put("/api/v1/catalogue/T01", json=edit, headers=auth("dispatcher"))
    assert r.status_code == 403
    r = await client.put("/api/v1/catalogue/T01", json=edit, headers=auth("admin"))
    assert r.status_code == 200 and r.json()["version"] == 2
    versions = (await client.get("/api/v1/catalogue/T01/versions", headers=auth("admin"))).json()
    assert [(v["version"], v["is_current"]) for v in versions] == [(1, False), (2, True)]
    assert versions[0]["resolve_within"] == entry["resolve_within"]

    new_case = await api.create(category_code="T01")
    assert new_case["catalogue_entry_id"] == versions[1]["id"]
    assert (await api.get(old_case["id"]))["catalogue_entry_id"] == versions[0]["id"]
    assert new_case["resolve_due_at"] < old_case["resolve_due_at"]

    r = await client.delete("/api/v1/catalogue/T01", headers=auth("admin"))
    assert r.status_code == 204
    r = await client.post(
        "/api/v1/cases",
        json={"title": "x", "grid_code": "339901001001001", "category_code": "T01"},
        headers=auth("dispatcher"),
    )
    assert r.status_code == 422 and r.json()["field"] == "category_code"


async def test_grid_entries_must_name_the_grid_office(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    body = {
        "code": "G99",
        "name_zh": "测试",
        "name_en": "Test",
        "case_class": "event",
        "tier": "grid",
        "primary_department": "police",
        "ack_within": 1,
        "ack_unit": "hours",
        "checkin_within": 1,
        "checkin_unit": "hours",
        "resolve_within": 1,
        "resolve_unit": "days",
    }
    r = await client.post("/api/v1/catalogue", json=body, headers=auth("admin"))
    assert r.status_code == 422 and r.json()["field"] == "primary_department"
    r = await client.post(
        "/api/v1/catalogue",
        json={**body, "primary_department": "grid_office"},
        headers=auth("admin"),
    )
    assert r.status_code == 201
