"""The reliability runs' servers: PostgreSQL that can be restarted, Redis that can be killed
and restarted with or without its data, `hub serve` and `hub worker` processes that can be
SIGKILLed and started again on the same port, each writing its log to a file the run scans
afterwards. Everything listens on 127.0.0.1 only."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from tests.procs import _wait_port
from tests.servers import PostgresServer, _as_owner, _pg_bin, free_port, start_postgres

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-secret-0123456789-abcdef-xyz"
START_TIMEOUT_S = 180.0  # a hub restarted on a loaded 2-core machine took 40-60 s


def restart_postgres(pg: PostgresServer, down_s: float) -> None:
    """An immediate (crash-like) stop, `down_s` of nothing listening, and a start again."""
    data = pg.root / "data"
    subprocess.run(
        _as_owner([_pg_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
        check=True,
        capture_output=True,
    )
    time.sleep(down_s)
    opts = (
        f"-p {pg.port} -k {pg.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        " -c max_connections=200"
    )
    log = str(pg.root / "log")
    subprocess.run(
        _as_owner([_pg_bin("pg_ctl"), "-D", str(data), "-o", opts, "-l", log, "-w", "start"]),
        check=True,
        capture_output=True,
    )


@dataclass
class Redis:
    """redis-server with an append-only file, so a restart can keep its data or lose it."""

    workdir: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, *, empty: bool = False) -> None:
        data = self.workdir / "redis"
        if empty:
            shutil.rmtree(data, ignore_errors=True)
        data.mkdir(parents=True, exist_ok=True)
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server not found: run `make system-deps`")
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--protected-mode", "no"]
        args += ["--dir", str(data), "--save", "", "--appendonly", "yes"]
        args += ["--appendfsync", "always"]
        self.proc = subprocess.Popen(
            [binary, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        _wait_port(self.port, 20)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None


@dataclass
class Proc:
    """A `hub serve` or `hub worker` process with its output in `log`; restartable."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int | None = None
    ready_line: str | None = None  # for a process without /healthz: printed once it runs
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    _out: IO[bytes] | None = None

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, *, wait: bool = True) -> None:
        self.starts += 1
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._out = self.log.open("ab")
        self._out.write(f"\n=== start #{self.starts}\n".encode())
        self._out.flush()
        self.proc = subprocess.Popen(
            [a.replace("{n}", str(self.starts)) for a in self.argv],
            env={**os.environ, **self.env},
            cwd=ROOT,
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        if wait and self.port is not None:
            self.wait_healthy()
        elif wait and self.ready_line is not None:
            self.wait_ready(self.ready_line)

    def wait_ready(self, line: str) -> None:
        assert self.proc is not None
        mark = f"=== start #{self.starts}\n"
        give_up = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < give_up:
            if line in self.log.read_text(errors="replace").rsplit(mark, 1)[-1]:
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}")
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not print {line!r} in {START_TIMEOUT_S} s")

    def wait_healthy(self) -> None:
        assert self.proc is not None
        give_up = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < give_up:
            try:
                with urllib.request.urlopen(f"http://{self.addr}/healthz", timeout=2):
                    return
            except OSError:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"{self.name} exited with {self.proc.returncode}") from None
                time.sleep(0.2)
        raise RuntimeError(f"{self.name} did not answer /healthz in {START_TIMEOUT_S} s")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> int | None:
        """SIGTERM and wait; the exit code (None if it had to be killed or was not running)."""
        if self.proc is None:
            return None
        self.proc.terminate()
        try:
            code: int | None = self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()
            code = None
        self.proc = None
        if self._out is not None:
            self._out.close()
        return code


def base_env(db_url: str, bus_url: str) -> dict[str, str]:
    return {
        "HUB_DATABASE_URL": db_url,
        "HUB_BUS_URL": bus_url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_LOG_LEVEL": "warning",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",  # one load generator sends every case
        "HUB_LOGIN_PER_ADDRESS_PER_MIN": "0",
        "HUB_SLA_LEASE_S": "5",
        "HUB_SLA_POLL_S": "0.25",
    }


def hub_proc(i: int, env: dict[str, str], logs: Path) -> Proc:
    port = free_port()
    argv = [sys.executable, "-m", "hub.cli", "serve", "--no-migrate"]
    argv += ["--host", "127.0.0.1", "--port", str(port)]
    return Proc(f"hub{i}", argv, {**env, "HUB_SLA_IN_PROCESS": "false"}, logs / f"hub{i}.log", port)


def worker_proc(i: int, env: dict[str, str], logs: Path) -> Proc:
    argv = [sys.executable, "-m", "hub.cli", "worker", "--id", f"worker{i}#{{n}}"]
    return Proc(f"worker{i}", argv, env, logs / f"worker{i}.log", ready_line="timers running")


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


# A traceback after one of these lines is an exception nothing in the hub handled.
UNHANDLED = (
    "Exception in ASGI application",
    "Task exception was never retrieved",
    "Exception in callback",
    "Application startup failed",
    "Application shutdown failed",
    "Unhandled exception",
)

# Logged by uvicorn with a traceback when a client breaks the protocol; it then closes the
# connection as it should. Reported, not counted as the hub failing.
CLIENT_ERRORS = ("Invalid UTF-8 sequence received from client",)


@dataclass
class LogFinding:
    log: str
    header: str  # the line before the traceback ("" when the process died of it)
    exception: str  # the traceback's last line
    count: int

    @property
    def unhandled(self) -> bool:
        return not self.header or any(u in self.header for u in UNHANDLED)

    @property
    def client_error(self) -> bool:
        return any(c in self.header for c in CLIENT_ERRORS)


def scan_logs(logs: list[Path]) -> list[LogFinding]:
    """Every traceback in the logs, grouped by (log, the line before it, its last line)."""
    found: Counter[tuple[str, str, str]] = Counter()
    for path in logs:
        if not path.exists():
            continue
        header, in_tb, previous = "", False, ""
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Traceback (most recent call last)"):
                if not in_tb:
                    header = "" if previous.startswith("===") else previous.strip()
                in_tb = True
            elif (
                in_tb
                and line.strip()
                and not line.startswith((" ", "\t", "During handling", "The above exception"))
            ):
                found[(path.stem, _norm(header), _norm(line))] += 1
                in_tb = False
            if line.strip():
                previous = line
    return [LogFinding(log, h, e, n) for (log, h, e), n in found.most_common()]


def _norm(line: str) -> str:
    line = re.sub(r"^\d{4}-\d\d-\d\d [\d:,]+ ", "", line)
    return re.sub(r"\b\d{3,}\b", "N", line)[:180]


__all__ = [
    "ROOT",
    "SECRET",
    "LogFinding",
    "PostgresServer",
    "Proc",
    "Redis",
    "base_env",
    "hub_proc",
    "restart_postgres",
    "rss_kib",
    "scan_logs",
    "start_postgres",
    "worker_proc",
]
