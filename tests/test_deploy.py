"""deploy/compose.yaml against the Compose Specification's JSON schema (vendored in
deploy/schema/) after the same ${VAR} interpolation Compose does, with the hub's own
settings checked by `Settings`; deploy/nginx/hub.conf through `nginx -t`. Neither is run
here: there is no Docker engine on the machine."""

from __future__ import annotations

import copy
import hashlib
import json
import re
import subprocess
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml

from hub.config import Settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
NGINX = Path("/usr/sbin/nginx")
ENV = {
    "HUB_SECRET_KEY": "compose-test-secret-that-is-long-enough-0123",
    "POSTGRES_PASSWORD": "pw",
    "GRAFANA_ADMIN_PASSWORD": "admin-pw",
}
_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's `${VAR}`, `${VAR:-default}`, `${VAR:?error}` and `$$`, recursively."""
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    if not isinstance(value, str):
        return value

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.groups()
        present = env.get(name)
        if op in (":?", "?") and not present:
            raise KeyError(f"{name}: {arg}")
        if op in (":-", "-") and not present:
            return str(arg)
        return present or ""

    return _VAR.sub(one, value)


def _compose(env: dict[str, str]) -> dict[str, Any]:
    raw = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    doc: dict[str, Any] = interpolate(raw, env)
    return doc


def _errors(doc: dict[str, Any]) -> list[str]:
    schema = json.loads((DEPLOY / "schema" / "compose-spec.json").read_text())
    validator = jsonschema_rs.validator_for(schema)
    return [f"{list(e.instance_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_the_vendored_schema_is_the_recorded_one() -> None:
    table = (DEPLOY / "schema" / "VERSIONS.md").read_text()
    digest = hashlib.sha256((DEPLOY / "schema" / "compose-spec.json").read_bytes()).hexdigest()
    assert f"| `{digest}` |" in table
    assert (DEPLOY / "schema" / "LICENSE-compose-spec").is_file()


def test_compose_file_is_valid_and_refuses_to_start_without_its_secrets() -> None:
    doc = _compose(ENV)
    assert _errors(doc) == []
    broken = copy.deepcopy(doc)
    broken["services"]["hub"]["deploy"]["replicas"] = "three"
    assert _errors(broken), "the schema check can fail"
    for missing in ENV:
        with pytest.raises(KeyError, match=missing):
            _compose({k: v for k, v in ENV.items() if k != missing})


def test_the_topology(monkeypatch: pytest.MonkeyPatch) -> None:
    services = _compose(ENV)["services"]
    assert set(services) == {
        "postgres",
        "redis",
        "migrate",
        "hub",
        "worker",
        "nginx",
        "prometheus",
        "grafana",
    }
    migrate, serve, worker = services["migrate"], services["hub"], services["worker"]
    assert migrate["command"] == ["hub", "migrate"] and migrate["restart"] == "no"
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert serve["command"] == ["hub", "serve", "--no-migrate"]
    assert worker["command"][:2] == ["hub", "worker"]
    for process in (serve, worker):
        assert process["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert process["deploy"]["replicas"] >= 2
        assert process["environment"]["HUB_SLA_IN_PROCESS"] == "false"
        assert process["environment"]["HUB_BUS_URL"].startswith("redis://redis:")
    # The environment every hub process gets is one the hub's Settings accepts.
    for key, value in serve["environment"].items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)
    assert settings.mode == "production" and not settings.sla_in_process
    assert settings.log_format == "json" and settings.database_url.startswith("postgresql+")
    # Every file mounted from the repository exists.
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("."):
                assert (DEPLOY / source).exists(), source
    scraped = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {
        n for job in scraped["scrape_configs"] for sd in job["dns_sd_configs"] for n in sd["names"]
    }
    assert targets == {"hub", "worker"}


def _nginx_t(conf: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n  include {conf};\n}}\n"
    )
    return subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-c", str(main)],
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )


def test_nginx_conf_passes_nginx_t(tmp_path: Path) -> None:
    assert NGINX.is_file(), "nginx not found: run `make test`, which installs it"
    conf = DEPLOY / "nginx" / "hub.conf"
    result = _nginx_t(conf, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr
    broken = tmp_path / "broken.conf"
    broken.write_text(conf.read_text().replace("proxy_read_timeout 3600s;", "proxy_read_timeout;"))
    assert _nginx_t(broken, tmp_path).returncode != 0, "nginx -t can fail"


def test_nginx_upgrades_websockets_with_long_timeouts() -> None:
    text = (DEPLOY / "nginx" / "hub.conf").read_text()
    ws = re.search(r"location /ws \{(.*?)\n    \}", text, re.S)
    assert ws is not None
    block = ws.group(1)
    assert "proxy_set_header Upgrade $http_upgrade;" in block
    assert "proxy_set_header Connection $connection_upgrade;" in block
    timeouts = [int(s) for s in re.findall(r"proxy_(?:read|send)_timeout (\d+)s;", block)]
    assert len(timeouts) == 2 and min(timeouts) >= 3600
    assert "proxy_set_header X-Request-Id" in block
