"""Group commit: many concurrent creates share transactions, and one bad case in a batch
fails alone."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from hub.audit.chains import verify_chains
from hub.auth.principal import load_principal
from hub.cases import actions
from hub.cases import writer as writer_module
from hub.cases.machine import CaseState
from hub.cases.models import Case
from hub.cases.schemas import CaseCreate
from hub.cases.writer import Draft
from hub.deps import Hub
from hub.enums import Source
from tests.helpers import GRID
from tests.world import World


async def test_concurrent_creates_are_batched_and_each_stands_alone(hub: Hub, world: World) -> None:
    async with hub.db.read() as session:
        admin = await load_principal(session, world.user["admin"], None)
    bodies = [
        CaseCreate(title=f"并发{i}", grid_code=GRID, category_code=("T01", "G01", None)[i % 3])
        for i in range(60)
    ]
    made = await asyncio.gather(*(actions.create_case(hub, admin, b) for b in bodies))
    ids = [case.id for case, created in made]
    assert all(created for _, created in made)
    assert len(set(ids)) == 60
    assert [c.title for c, _ in made] == [b.title for b in bodies]  # each got its own case
    report = await verify_chains(hub.db)
    assert report.ok and report.cases == 60 and report.events == 40 * 2 + 20

    # A draft that cannot be stored (its creator does not exist) fails only itself.
    now = hub.clock.now()
    good = [CaseCreate(title=f"好{i}", grid_code=GRID, category_code="T01") for i in range(5)]
    bad_case = Case(
        title="坏",
        grid_id=world.region[GRID],
        community_id=1,
        township_id=1,
        county_id=1,
        city_id=1,
        source=Source.GRID_PATROL,
        state=CaseState.REPORTED,
        created_at=now,
        updated_at=now - timedelta(0),
        created_by=999_999,
    )
    results = await asyncio.gather(
        hub.writer.submit(bad_case, []),
        *(actions.create_case(hub, admin, b) for b in good),
        return_exceptions=True,
    )
    assert isinstance(results[0], IntegrityError)
    assert all(isinstance(r, tuple) and r[1] for r in results[1:])
    with pytest.raises(IntegrityError):
        await hub.writer.submit(bad_case, [])
    assert (await verify_chains(hub.db)).cases == 65


# SQLite only: PostgreSQL has no writer thread and no in-process write lock to hand over.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_the_writer_thread_lets_a_waiting_writer_in_between_batches(
    hub: Hub, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a SQLite file the writer thread runs batch after batch without the event loop; it
    must still hand SQLite's single write lock to another writer of this process that
    waits (an action, the relay, the timers) instead of holding it while cases keep coming."""
    assert hub.db.has_writer_thread
    async with hub.db.read() as session:
        admin = await load_principal(session, world.user["admin"], None)
    n = 3 * writer_module.MAX_BATCH
    bodies = [CaseCreate(title=f"排队{i}", grid_code=GRID, category_code="T01") for i in range(n)]
    real_insert, in_first_batch = writer_module._insert, threading.Event()
    first_batch: list[int] = []

    def insert_once_another_writer_waits(conn: Connection, batch: list[Draft]) -> Any:
        if not in_first_batch.is_set():
            first_batch.append(len(batch))
            in_first_batch.set()
            deadline = time.monotonic() + 10
            while not hub.db.writers_waiting and time.monotonic() < deadline:
                time.sleep(0.001)
        return real_insert(conn, batch)

    monkeypatch.setattr(writer_module, "_insert", insert_once_another_writer_waits)
    seen: list[int] = []

    async def other_writer() -> None:
        assert await asyncio.to_thread(in_first_batch.wait, 10)
        async with hub.db.transaction() as session:
            conn = await session.connection()
            seen.append(int((await conn.execute(text("SELECT count(*) FROM cases"))).scalar_one()))

    made, _ = await asyncio.gather(
        asyncio.gather(*(actions.create_case(hub, admin, b) for b in bodies)), other_writer()
    )
    assert all(created for _, created in made)
    assert seen == first_batch  # in right after the first batch...
    assert seen[0] < n  # ...while cases were still waiting
    report = await verify_chains(hub.db)
    assert report.ok and report.cases == n


async def test_a_batch_cut_off_by_an_outage_is_not_written_again_one_by_one(
    hub: Hub, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that failed because the database went away is failed as a whole (each
    request answers 503): its commit may have gone through, and writing its drafts again
    alone could store the keyless ones twice. A bad draft still fails alone."""
    tries: list[int] = []
    down = ConnectionRefusedError(111, "Connect call failed")

    async def insert(_self: writer_module.CaseWriter, batch: list[Draft]) -> Any:
        tries.append(len(batch))
        raise down

    monkeypatch.setattr(writer_module.CaseWriter, "_insert_async", insert)
    now = hub.clock.now()
    drafts = [
        Draft(
            Case(
                title=f"断{i}",
                grid_id=world.region[GRID],
                community_id=1,
                township_id=1,
                county_id=1,
                city_id=1,
                source=Source.GRID_PATROL,
                state=CaseState.REPORTED,
                created_at=now,
                updated_at=now,
                created_by=world.user["admin"],
            ),
            [],
            [],
        )
        for i in range(3)
    ]
    results = await hub.writer._write_async(drafts)
    assert tries == [3]  # the batch once, no draft alone
    assert results == [down] * 3
