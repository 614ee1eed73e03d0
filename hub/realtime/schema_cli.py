"""`python -m hub.realtime.schema_cli > docs/realtime.schema.json`: the wire contract as JSON
Schema, generated from the protocol models (a test keeps the committed file current)."""

from __future__ import annotations

import json

from hub.realtime.protocol import json_schema


def render() -> str:
    return json.dumps(json_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
