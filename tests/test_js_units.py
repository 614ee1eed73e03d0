"""The screens' pure logic under node's test runner (tests/js/*.test.mjs), fed with the
server's own data: the contract document and hash chains built and checked by
hub/audit/chain.py, intact and tampered, so chain.js and the Python chain must agree; and a
report the hub made (GET /api/v1/reports), formatted by the /reports screen's helpers."""

from __future__ import annotations

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.assessment.projection import AssessmentProjection
from hub.audit.chain import GENESIS, Link, canonical, check_case, link_hash
from hub.deps import Hub
from hub.meta.contract import document
from hub.outbox.consumer import step
from hub.realtime.bus import MemoryBus
from hub.realtime.relay import Relay
from tests.helpers import Api, Auth

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
    assert "# fail 0" in run.stdout and f"# pass {7 + len(chains)}" in run.stdout, run.stdout[
        -2000:
    ]


def _node(test_file: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    node = shutil.which("node")
    assert node is not None, "nodejs is missing: deploy/system-deps.sh installs it"
    return subprocess.run(
        [node, "--experimental-detect-module", "--test", str(ROOT / "tests" / "js" / test_file)],
        env={**env, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_report_helpers_format_the_hubs_report(
    hub: Hub, client: httpx.AsyncClient, auth: Auth, tmp_path: Path
) -> None:
    api = Api(client, auth)
    for user, grid in (
        ("dispatcher", "339901001001001"),
        ("dispatcher", "339901001001002"),
        ("dispatcher_west", "339901002001001"),
    ):
        await api.create(user, grid_code=grid, category_code="T01")
    relay = Relay(hub.db, MemoryBus(), hub.metrics, hub.clock)
    while await relay.assign():  # number the events, then fold them into the projection
        pass
    while await step(hub.db, AssessmentProjection(), hub.clock.now()):
        pass
    r = await client.get("/api/v1/reports/339901/weekly", headers=auth("county_commander"))
    assert r.status_code == 200, r.text
    report = r.json()
    assert report["volume"]["current"]["created"] == 3
    assert report["heatmap"]["values"], "both townships' cases are on the heat map"
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report, ensure_ascii=False))
    run = _node("reports.test.mjs", {"HUB_REPORT_JSON": str(report_file)})
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert "# fail 0" in run.stdout and "# pass 6" in run.stdout, run.stdout[-2000:]
