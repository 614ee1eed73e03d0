"""A rung that fails to fire because the database is away is fired later, never marked
failed; a rung that fails for its own reasons is marked failed so it cannot stall the rest.
(`make chaos` saw "marked failed" during a PostgreSQL restart.)"""

from __future__ import annotations

from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from hub.clock import FrozenClock, as_utc
from hub.deps import Hub
from hub.sla.engine import Fired, SlaEngine
from hub.sla.models import Deadline, DeadlineStatus
from tests.helpers import Api, Auth


class FlakyEngine(SlaEngine):
    """Fires nothing while `failure` is set: it raises that instead, as a broken connection
    or a broken row would inside the firing transaction."""

    failure: BaseException | None = None

    async def _fire(self, token: str | None, ids: list[int]) -> Fired:
        if self.failure is not None:
            raise self.failure
        return await super()._fire(token, ids)


@pytest.fixture
def api(client: httpx.AsyncClient, auth: Auth) -> Api:
    return Api(client, auth)


async def _statuses(hub: Hub) -> list[str]:
    async with hub.db.read() as session:
        stmt = select(Deadline.status).order_by(col(Deadline.fire_at))
        return [str(s) for s in (await session.exec(stmt)).all()]


def _lost_connection() -> OperationalError:
    return OperationalError(
        "SELECT 1",
        {},
        ConnectionResetError("connection reset by peer"),
        connection_invalidated=True,
    )


async def test_a_rung_that_met_a_database_outage_fires_once_it_is_back(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    engine = FlakyEngine(hub, worker_id="flaky")
    await api.create(title="占道经营", category_code="T01")
    clock.set(await _first_fire_at(hub) + timedelta(seconds=1))
    engine.failure = _lost_connection()
    with pytest.raises(OperationalError):
        await engine.run_due()
    assert DeadlineStatus.FAILED not in await _statuses(hub)
    engine.failure = None
    clock.advance(engine.lease + timedelta(seconds=1))  # the claim made before it lapses
    done = await engine.run_due()
    assert done.fired >= 1
    statuses = await _statuses(hub)
    assert DeadlineStatus.FAILED not in statuses and DeadlineStatus.FIRED in statuses


async def test_a_rung_that_breaks_on_its_own_is_marked_failed(
    api: Api, hub: Hub, clock: FrozenClock
) -> None:
    engine = FlakyEngine(hub, worker_id="flaky")
    await api.create(title="占道经营", category_code="T01")
    clock.set(await _first_fire_at(hub) + timedelta(seconds=1))
    engine.failure = ValueError("a ladder this code cannot read")
    done = await engine.run_due()
    assert done.failed >= 1 and done.fired == 0
    assert DeadlineStatus.FAILED in await _statuses(hub)


async def _first_fire_at(hub: Hub) -> datetime:
    async with hub.db.read() as session:
        rows = [as_utc(at) for at in (await session.exec(select(Deadline.fire_at))).all()]
    assert rows, "the case armed no deadline"
    return min(rows)
