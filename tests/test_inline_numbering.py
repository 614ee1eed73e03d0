"""On a SQLite file the case writer numbers new events in its own transaction (the relay's
`number`), and hands their frames to the relay after commit; on PostgreSQL the relay numbers
them in a transaction of its own. Either way the stream stays gap-free and in order."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection
from sqlmodel import col, select

from hub.cases.models import CaseEvent
from hub.deps import Hub
from hub.realtime.frames import Frame
from hub.realtime.models import StreamState
from hub.realtime.relay import Relay
from hub.realtime.runtime import Realtime
from tests.helpers import Api, Auth


@contextmanager
def relay_not_running(hub: Hub) -> Iterator[tuple[Relay, list[list[int]]]]:
    """A relay that is not started (nothing numbers behind the test's back), on a memory
    bus whose deliveries are recorded as lists of positions."""
    realtime = Realtime(hub.db, hub.metrics, "memory://", clock=hub.clock)
    assert realtime.relay is not None
    published: list[list[int]] = []

    async def deliver(frames: list[Frame]) -> None:
        published.append([f.position for f in frames])

    realtime.bus._deliver = deliver  # type: ignore[attr-defined]
    hub.realtime = realtime
    try:
        yield realtime.relay, published
    finally:
        hub.realtime = None


async def _positions(hub: Hub, case_ids: list[int]) -> list[int | None]:
    async with hub.db.read() as session:
        rows = await session.exec(
            select(CaseEvent.position)
            .where(col(CaseEvent.case_id).in_(case_ids))
            .order_by(col(CaseEvent.id))
        )
        return list(rows.all())


async def _head(hub: Hub) -> int:
    async with hub.db.read() as session:
        state = (await session.exec(select(StreamState))).first()
    return state.last_position if state else 0


async def test_new_cases_are_numbered_in_the_writers_transaction_on_sqlite(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    api = Api(client, auth)
    head = await _head(hub)
    with relay_not_running(hub) as (relay, published):
        made = [await api.create(category_code="T01") for _ in range(3)]
        positions = await _positions(hub, [m["id"] for m in made])
        if hub.db.has_writer_thread:
            # Committed with their positions, in commit order, from the head on.
            assert positions == list(range(head + 1, head + 7))
            assert await _head(hub) == head + 6
            assert await relay.step(catch_up=False, number=False)  # the handed frames
        else:
            assert hub.outbox() is None  # PostgreSQL: the relay's own transaction
            assert positions == [None] * 6
            assert await relay.step(catch_up=False)
            assert await _positions(hub, [m["id"] for m in made]) == list(range(head + 1, head + 7))
    assert [p for batch in published for p in batch] == list(range(head + 1, head + 7))


async def test_writer_and_relay_numbering_publish_in_one_order(
    client: httpx.AsyncClient, auth: Auth, hub: Hub
) -> None:
    """A case written by the writer (numbered there) and an action committed elsewhere
    (numbered by the relay) go out in position order, whoever numbered them."""
    api = Api(client, auth)
    head = await _head(hub)
    with relay_not_running(hub) as (relay, published):
        case = await api.create(category_code="T01")
        await api.act("admin", case, "acknowledge")  # not the writer: the relay numbers it
        assert await relay.step(catch_up=False)
        assert not await relay.step(catch_up=False)
    flat = [p for batch in published for p in batch]
    assert flat == list(range(head + 1, head + 4))


class FailingOutbox:
    def number(self, conn: Connection) -> list[Frame]:
        raise RuntimeError("numbering failed")

    def numbered(self, frames: list[Frame]) -> None:
        raise AssertionError("nothing was numbered")


# SQLite only: PostgreSQL has no writer thread, so the writer never numbers there.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_a_failed_numbering_leaves_the_cases_and_pokes_the_relay(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert hub.db.has_writer_thread
    api = Api(client, auth)
    pokes: list[Any] = []
    monkeypatch.setattr(hub.writer, "outbox", lambda: FailingOutbox())
    monkeypatch.setattr(hub.writer, "committed", lambda: pokes.append(1))
    made = await api.create(category_code="T01")  # inserted again, alone and unnumbered
    assert await _positions(hub, [made["id"]]) == [None, None]
    assert pokes  # so the relay numbers them
    with relay_not_running(hub) as (relay, published):
        assert await relay.step(catch_up=False)
    assert await _positions(hub, [made["id"]]) == [p for batch in published for p in batch]
