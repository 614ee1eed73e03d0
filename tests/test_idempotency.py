from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, text
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select

from hub.auth.principal import load_principal
from hub.cases import actions
from hub.cases.actions import _fingerprint
from hub.cases.models import Case
from hub.cases.schemas import CaseCreate
from hub.cases.writer import CaseWriter, Draft
from hub.clock import FrozenClock
from hub.db import Database
from hub.deps import Hub
from tests import world as w
from tests.helpers import GRID, Auth


async def test_a_retried_create_returns_the_same_case(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    headers = {**auth("dispatcher"), "Idempotency-Key": "hotline-20261123-0001"}
    body = {"title": "路灯不亮", "grid_code": GRID, "category_code": "G01"}
    first = await client.post("/api/v1/cases", json=body, headers=headers)
    again = await client.post("/api/v1/cases", json=body, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    different = await client.post("/api/v1/cases", json={**body, "title": "别的"}, headers=headers)
    assert different.status_code == 409
    # The same key from another client is that client's own key.
    other = await client.post(
        "/api/v1/cases",
        json=body,
        headers={**auth("commander"), "Idempotency-Key": headers["Idempotency-Key"]},
    )
    assert other.status_code == 201 and other.json()["id"] != first.json()["id"]


async def test_concurrent_retries_create_one_case(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    headers = {**auth("dispatcher"), "Idempotency-Key": "burst-1"}
    body = {"title": "并发重试", "grid_code": GRID, "category_code": "T01"}
    replies = await asyncio.gather(
        *(client.post("/api/v1/cases", json=body, headers=headers) for _ in range(8))
    )
    assert {r.status_code for r in replies} <= {200, 201}
    assert len({r.json()["id"] for r in replies}) == 1
    async with hub.db.read() as s:
        n = (
            await s.exec(
                select(func.count()).select_from(Case).where(Case.idempotency_key == "burst-1")
            )
        ).one()
    assert n == 1


async def test_a_retry_racing_its_first_attempt_on_another_hub_answers_the_same_case(
    hub: Hub, clock: FrozenClock, db_url: str
) -> None:
    """Two hub processes (two writers, two pools) on one database: the same
    Idempotency-Key sent to both at once, among other creates that share their batches,
    always answers the one case — never an IntegrityError."""
    other = Hub(settings=hub.settings, db=Database(db_url), clock=clock)
    try:
        async with hub.db.read() as session:
            world = await w.load(session)
            actor = await load_principal(session, world.user["dispatcher"], None)
        hubs = (hub, other)
        for round_ in range(ROUNDS):
            dup = CaseCreate(title=f"重试{round_}", grid_code=GRID, category_code="T01")
            key = f"race-{round_}"
            calls = [
                actions.create_case(hubs[i % 2], actor, dup, idempotency_key=key) for i in range(6)
            ]
            calls += [
                actions.create_case(
                    hubs[i % 2],
                    actor,
                    CaseCreate(title=f"旁{round_}-{i}", grid_code=GRID, category_code="T01"),
                    idempotency_key=f"side-{round_}-{i}",
                )
                for i in range(10)
            ]
            made = await asyncio.gather(*calls)
            dup_made = made[:6]
            assert len({case.id for case, _ in dup_made}) == 1, (round_, dup_made)
            assert sum(created for _, created in dup_made) == 1, round_
            assert all(created for _, created in made[6:])
        async with hub.db.read() as s:
            n = (
                await s.exec(
                    select(func.count())
                    .select_from(Case)
                    .where(col(Case.idempotency_key).like("race-%"))
                )
            ).one()
        assert n == ROUNDS
    finally:
        await other.aclose()


ROUNDS = 20


@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
async def test_a_key_committed_by_another_writer_mid_batch_does_not_fail_the_batch(
    hub: Hub, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic form of the race: another writer (another hub process) holds an
    uncommitted case with the key while this hub's batch looks the key up and inserts.
    The batch waits for it, skips that row, answers the winner's case and stores the
    rest of the batch as it was — no IntegrityError, no one-at-a-time fallback."""
    async with hub.db.read() as session:
        world = await w.load(session)
        actor = await load_principal(session, world.user["dispatcher"], None)
    dup = CaseCreate(title="抢先", grid_code=GRID, category_code="T01")
    seed, _ = await actions.create_case(hub, actor, CaseCreate(title="模板", grid_code=GRID))
    fallbacks: list[object] = []
    original = CaseWriter._alone_async

    async def alone(self: CaseWriter, draft: Draft) -> object:
        fallbacks.append(draft)
        return await original(self, draft)

    monkeypatch.setattr(CaseWriter, "_alone_async", alone)
    columns = [c.name for c in Case.__table__.columns if c.name not in _COPIED_AS]  # type: ignore[attr-defined]
    other = Database(db_url)
    try:
        async with other.engine.connect() as conn:
            blocker = await conn.begin()
            winner = (
                await conn.execute(
                    text(
                        f"INSERT INTO cases ({', '.join(columns)}, title, idempotency_key,"
                        " idempotency_fingerprint) "
                        f"SELECT {', '.join(columns)}, :title, :key, :fp FROM cases WHERE id = :src"
                        " RETURNING id"
                    ),
                    {"title": dup.title, "key": "held", "fp": _fingerprint(dup), "src": seed.id},
                )
            ).scalar_one()
            # Twice: a draft of the batch that shares the skipped one's key gets the winner too.
            calls = [
                asyncio.ensure_future(actions.create_case(hub, actor, dup, idempotency_key="held"))
                for _ in range(2)
            ]
            calls += [
                asyncio.ensure_future(
                    actions.create_case(
                        hub,
                        actor,
                        CaseCreate(title=f"同批{i}", grid_code=GRID, category_code="T01"),
                        idempotency_key=f"batch-{i}",
                    )
                )
                for i in range(5)
            ]
            await _until_a_writer_waits_on_a_lock(conn)
            await blocker.commit()
            made = await asyncio.gather(*calls)
    finally:
        await other.dispose()
    dups, rest = made[:2], made[2:]
    assert [(case.id, created) for case, created in dups] == [(winner, False)] * 2
    assert all(created for _, created in rest)
    assert fallbacks == []  # the batch was not failed by the duplicate


_COPIED_AS = {"id", "title", "idempotency_key", "idempotency_fingerprint"}


async def _until_a_writer_waits_on_a_lock(conn: AsyncConnection) -> None:
    waiting = text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    for _ in range(200):
        if (await conn.execute(waiting)).scalar_one() > 0:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the hub's writer never reached the held key")
