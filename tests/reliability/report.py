"""A run's figures as a two-column table on stdout and as JSON under bench-results/."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.reliability.stack import ROOT


def _flat(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            out += _flat(f"{prefix}.{k}" if prefix else str(k), v)
        return out
    if isinstance(value, float):
        return [(prefix, f"{value:,.3f}")]
    return [(prefix, f"{value:,}" if isinstance(value, int) else str(value))]


def publish(name: str, figures: dict[str, Any], problems: list[str]) -> Path:
    rows = _flat("", figures)
    width = max((len(k) for k, _ in rows), default=10)
    print(f"\n== {name}: figures")
    for k, v in rows:
        print(f"  {k:<{width}}  {v}")
    print(f"== {name}: {'PASS' if not problems else f'FAIL ({len(problems)} problems)'}")
    for p in problems[:50]:
        print(f"  - {p}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")  # wall-clock: names the file
    out = ROOT / "bench-results" / f"{name}-{stamp}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(
        json.dumps({"figures": figures, "problems": problems}, ensure_ascii=False, indent=2)
    )
    print(f"  json: {out.relative_to(ROOT)}")
    return out
