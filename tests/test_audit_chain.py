"""Tamper evidence: edit, delete, insert and reorder events directly in the database,
and `hub audit verify` names the first broken link of each."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from hub import cli
from hub.audit.chain import GENESIS, canonical, link_hash
from hub.audit.chains import verify_chains
from hub.config import get_settings
from hub.deps import Hub
from tests.helpers import Api, Auth


async def _story(api: Api) -> list[dict[str, Any]]:
    cases = []
    for category in ("T01", "G01", "C02"):
        case = await api.create(category_code=category)
        case = await api.act("admin", case, "acknowledge")
        case = await api.act("admin", case, "check-in")
        cases.append(case)
    return cases


async def _sql(hub: Hub, statement: str, **params: object) -> None:
    async with hub.db.transaction() as session:
        conn = await session.connection()
        await conn.execute(text(statement), params)


async def _edit(hub: Hub, case_id: int) -> int:
    await _sql(
        hub,
        "UPDATE case_events SET actor = 'someone else' WHERE case_id = :c AND seq = 2",
        c=case_id,
    )
    return 2


async def _delete_middle(hub: Hub, case_id: int) -> int:
    await _sql(hub, "DELETE FROM case_events WHERE case_id = :c AND seq = 2", c=case_id)
    return 2


async def _delete_tail(hub: Hub, case_id: int) -> int:
    await _sql(
        hub,
        "DELETE FROM case_events WHERE case_id = :c AND seq = "
        "(SELECT MAX(seq) FROM case_events WHERE case_id = :c)",
        c=case_id,
    )
    return 3


async def _insert(hub: Hub, case_id: int) -> int:
    # A forged event with a well-formed link after the real tail.
    async with hub.db.read() as session:
        conn = await session.connection()
        row = (
            await conn.execute(
                text(
                    "SELECT seq, hash FROM case_events WHERE case_id = :c ORDER BY seq DESC LIMIT 1"
                ),
                {"c": case_id},
            )
        ).one()
    at = datetime.fromisoformat("2026-11-23T03:00:00+00:00")
    fields: dict[str, Any] = dict(
        case_id=case_id,
        seq=row.seq + 1,
        type="resolved",
        actor_id=None,
        actor="forger",
        at=at,
        payload={},
        changes={},
        prev_hash=row.hash,
    )
    await _sql(
        hub,
        "INSERT INTO case_events (case_id, seq, type, actor_id, actor, at, payload, "
        "changes, prev_hash, hash) VALUES (:case_id, :seq, :type, :actor_id, :actor, :at, "
        "'{}', '{}', :prev_hash, :hash)",
        **{
            **fields,
            "at": at.replace(tzinfo=None) if hub.db.is_sqlite else at,
            "hash": link_hash(canonical(**fields)),
        },
    )
    seq: int = row.seq + 1
    return seq


async def _reorder(hub: Hub, case_id: int) -> int:
    await _sql(hub, "UPDATE case_events SET seq = -1 WHERE case_id = :c AND seq = 2", c=case_id)
    await _sql(hub, "UPDATE case_events SET seq = 2 WHERE case_id = :c AND seq = 3", c=case_id)
    await _sql(hub, "UPDATE case_events SET seq = 3 WHERE case_id = :c AND seq = -1", c=case_id)
    return 2


TAMPERS: dict[str, Callable[[Hub, int], Awaitable[int]]] = {
    "edit": _edit,
    "delete_middle": _delete_middle,
    "delete_tail": _delete_tail,
    "insert": _insert,
    "reorder": _reorder,
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
async def test_every_kind_of_tampering_is_detected(
    tamper: str, client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    cases = await _story(Api(client, auth))
    clean = await verify_chains(hub.db)
    assert clean.ok and clean.cases == 3
    victim = cases[1]["id"]
    expected_seq = await TAMPERS[tamper](hub, victim)
    report = await verify_chains(hub.db)
    assert [(b.case_id, b.seq) for b in report.breaks] == [(victim, expected_seq)]


async def test_cli_names_the_first_broken_link(
    client: httpx.AsyncClient,
    auth: Auth,
    hub: Hub,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = await _story(Api(client, auth))
    monkeypatch.setenv("HUB_DATABASE_URL", hub.settings.database_url)
    get_settings.cache_clear()
    try:
        assert await _run_cli() == 0
        assert "every chain intact" in capsys.readouterr().out
        await _edit(hub, cases[0]["id"])
        assert await _run_cli() == 1
        out = capsys.readouterr().out
        assert f"BROKEN case {cases[0]['id']} at event 2" in out
    finally:
        get_settings.cache_clear()


async def _run_cli() -> int:
    import asyncio

    # The CLI runs its own event loop, as it does from a shell.
    code: int = await asyncio.to_thread(cli.main, ["audit", "verify"])
    return code


async def test_an_outside_party_can_recheck_the_chain_from_the_api(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    case = (await _story(Api(client, auth)))[0]
    events = (await client.get(f"/api/v1/cases/{case['id']}/events", headers=auth("admin"))).json()
    prev = GENESIS
    for e in events:
        assert e["prev_hash"] == prev
        body = {
            k: e[k]
            for k in (
                "case_id",
                "seq",
                "type",
                "actor_id",
                "actor",
                "payload",
                "changes",
                "prev_hash",
            )
        }
        recomputed = link_hash(canonical(**body, at=datetime.fromisoformat(e["at"])))
        assert recomputed == e["hash"]
        prev = e["hash"]
