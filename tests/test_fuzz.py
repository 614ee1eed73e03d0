"""A bounded Schemathesis run against a real hub process: no 5xx, no response that breaks
the published OpenAPI spec, no schema-violating request accepted. `make fuzz` runs longer."""

from __future__ import annotations

from pathlib import Path

from tests.fuzz.run import fuzz


def test_schemathesis_finds_nothing(tmp_path: Path) -> None:
    assert fuzz(max_examples=5, max_time_s=45, workdir=tmp_path) == 0
