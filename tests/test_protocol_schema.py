from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlmodel import select

from hub.auth.principal import load_principal
from hub.cases import actions
from hub.cases.models import Case
from hub.cases.schemas import CaseCreate, CaseOut
from hub.deps import Hub
from hub.realtime.frames import frames_for, unpositioned
from hub.realtime.protocol import EventFrame, client_message
from hub.realtime.schema_cli import render
from tests.world import World

SCHEMA = Path(__file__).parent.parent / "docs" / "realtime.schema.json"


def test_committed_schema_matches_the_models() -> None:
    assert SCHEMA.read_text() == render(), "run: python -m hub.realtime.schema_cli > " + str(SCHEMA)


@pytest.mark.parametrize(
    "message",
    [
        {"type": "subscribe", "topics": []},
        {"type": "subscribe", "topics": [{"kind": "region", "key": "abc"}]},
        {"type": "subscribe", "topics": [{"kind": "inbox"}], "since": -1},
        {"type": "subscribe", "topics": [{"kind": "inbox"}], "extra": 1},
        {"type": "ack", "case_id": 0, "version": 1},
        {"type": "ack", "case_id": 2**40, "version": 1},
        {"type": "teleport"},
        {"type": "subscribe", "topics": [{"kind": "region", "key": "1"}] * 51},
    ],
)
def test_malformed_client_messages_are_refused(message: object) -> None:
    with pytest.raises(ValidationError):
        client_message.validate_python(message)


async def test_fast_event_encoding_matches_the_protocol_model(hub: Hub, world: World) -> None:
    """The relay encodes event frames by hand for speed; they must still be EventFrames
    whose `case` has the REST shape."""
    async with hub.db.read() as session:
        admin = await load_principal(session, world.user["admin"], None)
    await actions.create_case(
        hub, admin, CaseCreate(title="x", grid_code="339901001001001", category_code="T01")
    )
    async with hub.db.read() as session:
        events = await unpositioned(session, limit=10)
        for position, event in enumerate(events, start=1):
            event.position = position
        frames = await frames_for(session, events, hub.clock.now())
        stored = (await session.exec(select(Case))).one()
    rest = CaseOut.model_validate(stored).model_dump(mode="json", exclude={"allowed_actions"})
    assert len(frames) == 2
    for frame in frames:
        parsed = EventFrame.model_validate_json(frame.text)
        assert {k: v for k, v in parsed.case.items() if k != "city_id"} == rest
