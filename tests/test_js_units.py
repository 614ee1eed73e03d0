"""The screens' pure logic under node's test runner (tests/js/*.test.mjs), fed with the
server's own data: the contract document and hash chains built and checked by
hub/audit/chain.py, intact and tampered, so chain.js and the Python chain must agree."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hub.audit.chain import GENESIS, Link, canonical, check_case, link_hash
from hub.meta.contract import document

ROOT = Path(__file__).resolve().parent.parent
START = datetime(2026, 11, 23, 1, 2, 3, 456789, tzinfo=UTC)
PAYLOADS: list[dict[str, Any]] = [
    {"source": "hotline_12345"},
    {"note": '井盖缺失 "引号" \\ 换行\n', "lat": 30.25, "lon": 120.5},
    {"decision": {"whistle_level": 3, "department_id": 12, "confirmed": True}, "big": 2**53 + 1},
    {"reason": "emoji 🚧 and a lone number", "score": 1.0, "empty": {}, "list": [1, "二", None]},
]


def _events() -> list[dict[str, Any]]:
    prev, out = GENESIS, []
    for seq, payload in enumerate(PAYLOADS, start=1):
        at = START + timedelta(minutes=seq, microseconds=seq)
        fields: dict[str, Any] = {
            "case_id": 7,
            "seq": seq,
            "type": "created" if seq == 1 else "dispatched",
            "actor_id": None if seq == 1 else 3,
            "actor": "调度员" if seq % 2 else "dispatcher",
            "at": at,
            "payload": payload,
            "changes": {"state": ["reported", "dispatched"]} if seq == 2 else {},
            "prev_hash": prev,
        }
        digest = link_hash(canonical(**fields))
        out.append({**fields, "at": at.isoformat(), "hash": digest})
        prev = digest
    return out


def _python_verdict(events: list[dict[str, Any]]) -> tuple[bool, int]:
    links = []
    for ev in events:
        fields = {k: ev[k] for k in ev if k != "hash"}
        fields["at"] = datetime.fromisoformat(ev["at"])
        links.append(
            Link(
                ev["case_id"],
                ev["seq"],
                ev["hash"],
                ev["prev_hash"],
                link_hash(canonical(**fields)),
            )
        )
    head = events[-1]["hash"] if events else None
    broken = check_case(links, head=head, version=len(events))
    return broken is None, broken.seq if broken else 0


def _chains() -> list[dict[str, Any]]:
    intact = _events()
    edited = json.loads(json.dumps(intact))
    edited[1]["payload"]["note"] = "改过的备注"
    swapped = [intact[0], intact[2], intact[1], intact[3]]
    relinked = json.loads(json.dumps(intact))
    relinked[2]["prev_hash"] = "f" * 64
    cases = [("intact", intact), ("edited", edited), ("reordered", swapped), ("relinked", relinked)]
    out = []
    for name, events in cases:
        ok, seq = _python_verdict(events)
        out.append(
            {"name": name, "text": json.dumps(events, ensure_ascii=False), "ok": ok, "seq": seq}
        )
    return out


def test_js_units_agree_with_the_server(tmp_path: Path) -> None:
    chains = _chains()
    assert [c["ok"] for c in chains] == [
        True,
        False,
        False,
        False,
    ]  # the Python side's own verdicts
    node = shutil.which("node")
    assert node is not None, "nodejs is missing: deploy/system-deps.sh installs it"
    contract_file, chains_file = tmp_path / "contract.json", tmp_path / "chains.json"
    contract_file.write_text(json.dumps(document(), ensure_ascii=False))
    chains_file.write_text(json.dumps(chains, ensure_ascii=False))
    run = subprocess.run(
        [
            node,
            "--experimental-detect-module",
            "--test",
            str(ROOT / "tests" / "js" / "contract.test.mjs"),
        ],
        env={
            "HUB_CONTRACT_JSON": str(contract_file),
            "HUB_CHAINS_JSON": str(chains_file),
            "PATH": "/usr/bin:/bin",
        },
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and f"# pass {5 + len(chains)}" in run.stdout, run.stdout[
        -2000:
    ]
