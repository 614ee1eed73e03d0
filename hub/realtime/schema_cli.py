"""`python -m hub.realtime.schema_cli > docs/realtime.schema.json`: the wire contract as JSON
Schema, generated from the protocol models; `... events > docs/events.schema.json`: every
event type's payload, from the event catalogue. Tests keep both committed files current."""

from __future__ import annotations

import json
import sys
from typing import Any

from hub.cases import events
from hub.realtime.protocol import json_schema


def _dump(doc: dict[str, Any]) -> str:
    return json.dumps(doc, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def render() -> str:
    return _dump(json_schema())


def render_events() -> str:
    return _dump(events.json_schema())


if __name__ == "__main__":
    print(render_events() if sys.argv[1:] == ["events"] else render(), end="")
