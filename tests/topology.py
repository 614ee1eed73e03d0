"""The production topology as real processes on loopback, for tests/test_topology.py:
nginx (deploy/nginx/hub.conf with the replicas as an upstream group instead of Docker's
DNS) in front of `hub serve` replicas, `hub worker`s, one PostgreSQL, one Redis."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from tests.procs import HubProcess, _wait_port
from tests.servers import free_port

ROOT = Path(__file__).resolve().parent.parent
NGINX = Path("/usr/sbin/nginx")


@dataclass
class Nginx:
    root: Path
    upstreams: list[str]
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    def config(self) -> Path:
        site = (ROOT / "deploy" / "nginx" / "hub.conf").read_text()
        servers = "".join(f"    server {u} max_fails=1 fail_timeout=5s;\n" for u in self.upstreams)
        replaced = {
            "resolver 127.0.0.11 valid=10s ipv6=off;": f"upstream hub_replicas {{\n{servers}}}",
            "listen 80;": f"listen 127.0.0.1:{self.port};",
            "set $hub_upstream http://hub:8000;": "set $hub_upstream http://hub_replicas;",
            "access_log /dev/stdout hub_json;": f"access_log {self.root}/access.log hub_json;",
        }
        for old, new in replaced.items():
            assert old in site, f"deploy/nginx/hub.conf no longer has {old!r}"
            site = site.replace(old, new)
        (self.root / "hub.conf").write_text(site)
        main = self.root / "nginx.conf"
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers read the temp dirs
        temp = "".join(
            f"  {kind}_temp_path {self.root}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
        main.write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {self.root}/nginx.pid;\n"
            f"error_log {self.root}/error.log warn;\nevents {{ worker_connections 4096; }}\n"
            f"http {{\n{temp}  include {self.root}/hub.conf;\n}}\n"
        )
        return main

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        main = self.config()
        self.proc = subprocess.Popen([str(NGINX), "-p", str(self.root), "-c", str(main)])
        _wait_port(self.port)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@dataclass
class WorkerProcess:
    env: dict[str, str]
    name: str
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        hub = str(Path(sys.executable).with_name("hub"))
        self.proc = subprocess.Popen(
            [hub, "worker", "--id", self.name],
            env={**os.environ, **self.env},
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
        )

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def replicas(env: dict[str, str], n: int) -> list[HubProcess]:
    return [HubProcess(env, hub_serve=True) for _ in range(n)]
