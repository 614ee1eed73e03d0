"""Routing's in-memory reference data follows changes made by other processes."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hub.deps import Hub
from hub.dispatch import reference
from tests.world import World


async def test_a_change_made_elsewhere_is_picked_up(
    hub: Hub, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = await hub.reference.get()
    assert ref.current["T01"].resolve_within == 3
    # Another process edits the entry and bumps the version in its own transaction.
    async with hub.db.transaction() as session:
        conn = await session.connection()
        await conn.execute(
            text("UPDATE catalogue_entries SET resolve_within = 9 WHERE code = 'T01'")
        )
        await reference.bump(session)
    assert (await hub.reference.get()).current["T01"].resolve_within == 3  # within RECHECK_S
    monkeypatch.setattr(reference, "RECHECK_S", 0.0)
    assert (await hub.reference.get()).current["T01"].resolve_within == 9
    grid = (await hub.reference.get()).grids["339901001001001"]
    assert grid.township_id == world.region["339901001"]
