"""deploy/grafana/hub.json and deploy/prometheus/alerts.yml read only series the hub
exports (a renamed metric fails here, not on a county's dashboard), cover what operators
watch, and the rules pass `promtool check rules`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from hub.metrics import Metrics

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"
# PromQL words that look like series names.
_NOT_SERIES = {
    "sum", "max", "min", "rate", "by", "le", "histogram_quantile", "count", "absent", "or",
    "and", "unless", "on", "without", "avg", "instance", "job", "status", "tier", "action",
    "kind", "type", "consumer", "state", "humanizeDuration", "humanizePercentage",
}  # fmt: skip
_NAME = re.compile(r"\b([a-z_][a-z0-9_]*)\b(?!\s*[=~!]|\")")


def _exported() -> set[str]:
    names = {"up"}  # Prometheus's own, per scrape target
    for metric in Metrics().registry.collect():
        for sample_suffix in ("", "_total", "_bucket", "_count", "_sum", "_created"):
            names.add(metric.name + sample_suffix)
    return names


def _series_in(expr: str) -> set[str]:
    expr = re.sub(r"\{[^}]*\}", "", expr)  # label matchers
    expr = re.sub(r"\[[^\]]*\]", "", expr)  # ranges
    expr = re.sub(r"\(([a-z_, ]*)\)", lambda m: "" if "," in m.group(1) else m.group(0), expr)
    return {n for n in _NAME.findall(expr) if n not in _NOT_SERIES and not n.isdigit()}


def _dashboard_exprs() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana" / "hub.json").read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def _alerts() -> list[dict[str, str]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "alerts.yml").read_text())
    return [r for group in rules["groups"] for r in group["rules"]]


def test_the_dashboard_reads_only_exported_series_and_shows_what_operators_watch() -> None:
    used = set().union(*(_series_in(e) for e in _dashboard_exprs()))
    assert used <= _exported(), used - _exported()
    for watched in (
        "hub_cases_created_total",  # ingest
        "hub_commit_to_publish_seconds_bucket",  # create to screen
        "hub_ws_sockets",
        "hub_bus_lag_positions",
        "hub_sla_lateness_seconds_bucket",  # timer lateness
        "hub_db_pool_in_use",  # pool saturation
        "hub_http_requests_total",  # 5xx
    ):
        assert watched in used, watched


def test_the_alerts_read_only_exported_series_and_cover_the_failures() -> None:
    alerts = _alerts()
    for rule in alerts:
        assert _series_in(rule["expr"]) <= _exported(), rule["alert"]
    names = {r["alert"] for r in alerts}
    assert {
        "HubBusDown",
        "HubTimerLate",
        "HubOutboxBacklog",
        "HubPoolExhausted",
        "HubErrorRate",
    } <= names


def test_the_series_parser_sees_a_wrong_name() -> None:
    wrong = 'sum(rate(hub_cases_made_total{tier="grid"}[5m])) by (tier)'
    assert _series_in(wrong) == {"hub_cases_made_total"}
    assert not _series_in(wrong) <= _exported()


def test_promtool_accepts_the_rules(tmp_path: Path) -> None:
    ok = subprocess.run(
        [PROMTOOL, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml")],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    broken = tmp_path / "broken.yml"
    text = (DEPLOY / "prometheus" / "alerts.yml").read_text()
    broken.write_text(text.replace("min(hub_bus_up) == 0", "min(hub_bus_up == 0"))
    refused = subprocess.run([PROMTOOL, "check", "rules", str(broken)], capture_output=True)
    assert refused.returncode != 0


@pytest.mark.parametrize("config", ["prometheus.yml"])
def test_prometheus_loads_the_alerts(config: str) -> None:
    scrape = yaml.safe_load((DEPLOY / "prometheus" / config).read_text())
    assert scrape["rule_files"] == ["/etc/prometheus/alerts.yml"]
