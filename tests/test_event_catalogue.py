"""The event catalogue is the only list of event types: every event written matches it,
and the committed JSON Schema of the payloads is generated from it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.cases.events import CATALOGUE, EventType, UnknownEvent, checked
from hub.cases.models import Case
from hub.cases.timeline import new_event
from hub.realtime.schema_cli import render_events

SCHEMA = Path(__file__).parent.parent / "docs" / "events.schema.json"
AT = datetime(2027, 3, 1, 8, 0, tzinfo=UTC)


def test_committed_schema_matches_the_catalogue() -> None:
    assert SCHEMA.read_text() == render_events(), (
        "run: python -m hub.realtime.schema_cli events > docs/events.schema.json"
    )


def test_every_type_has_a_spec_with_both_labels() -> None:
    assert set(CATALOGUE) == set(EventType)
    for kind, spec in CATALOGUE.items():
        assert spec.label_zh and spec.label_en, kind
        assert spec.consumers, kind


@pytest.mark.parametrize(
    ("type", "payload", "says"),
    [
        ("teleported", {}, "not in the catalogue"),
        ("created", {}, "source"),
        ("created", {"source": "carrier_pigeon"}, "source"),
        ("acknowledged", {"note": "ok", "extra": 1}, "extra"),
        ("sla_warning", {"step": "ack", "rung": "first", "due_at": "x", "actions": []}, "rung"),
    ],
)
def test_a_type_or_payload_outside_the_catalogue_is_refused(
    type: str, payload: dict[str, Any], says: str
) -> None:
    with pytest.raises(UnknownEvent, match=says):
        checked(type, payload)


def test_the_timeline_refuses_to_build_an_unknown_event() -> None:
    case = Case(
        title="t",
        created_at=AT,
        updated_at=AT,
        grid_id=1,
        community_id=1,
        township_id=1,
        county_id=1,
        city_id=1,
        created_by=1,
    )
    with pytest.raises(UnknownEvent):
        new_event(
            case,
            before={},
            type="teleported",  # type: ignore[arg-type]
            actor_id=None,
            actor="test",
            at=AT,
        )
    assert case.version == 1  # refused before anything about the case changed
