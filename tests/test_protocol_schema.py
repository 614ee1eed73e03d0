from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from hub.realtime.protocol import client_message
from hub.realtime.schema_cli import render

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
