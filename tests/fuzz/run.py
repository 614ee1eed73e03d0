"""Schemathesis against the hub's own OpenAPI spec, served by a real uvicorn process on a
seeded SQLite database. `python -m tests.fuzz.run --max-examples N` (make fuzz runs long)."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from hub.auth.security import issue_token
from hub.db import Database
from hub.migrate import upgrade
from tests import world as w
from tests.servers import free_port

SECRET = "fuzz-secret-0123456789-0123456789-abcdef"
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        # Every operation answers a method it lacks with 405 (in the JSON error shape)
        # and names the methods it has in Allow.
        "unsupported_method",
        "allow_header_conformance",
    ]
)


async def _seed(url: str) -> int:
    db = Database(url)
    await w.seed(db)
    async with db.read() as session:
        admin = (await w.load(session)).user["admin"]
    await db.dispose()
    return admin


def _wait(url: str, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"hub did not come up at {url}")


def fuzz(*, max_examples: int, max_time_s: int, workdir: Path) -> int:
    url = f"sqlite+aiosqlite:///{workdir}/fuzz.db"
    upgrade(url)
    admin_id = asyncio.run(_seed(url))
    token = issue_token(
        user_id=admin_id,
        token_version=0,
        secret=SECRET,
        now=datetime.now(UTC),  # wall-clock: the fuzzed hub is a real process on the real clock
        ttl_s=4 * 3600,
        kind="access",
    )
    port = free_port()
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_SECRET_KEY": SECRET,
        "HUB_MODE": "production",
        "HUB_LOGIN_PER_ADDRESS_PER_MIN": "0",
        "HUB_LOGIN_PER_ACCOUNT_PER_MIN": "0",
        "HUB_CASES_PER_CLIENT_PER_MIN": "0",
    }
    bin_dir = Path(sys.executable).parent
    server = subprocess.Popen(
        [
            str(bin_dir / "uvicorn"),
            "hub.main:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(f"{base}/healthz")
        cmd = [
            str(bin_dir / "st"),
            "run",
            f"{base}/openapi.json",
            "-H",
            f"Authorization: Bearer {token}",
            "--checks",
            CHECKS,
            "--max-examples",
            str(max_examples),
            "--max-time",
            str(max_time_s),
            "--seed",
            "20261123",
            "--workers",
            "1",
            "--no-color",
            # These end the sessions of the token every later request depends on:
            # logout, and a password change of the fuzzer's own account.
            "--exclude-path",
            "/api/v1/auth/logout",
            "--exclude-path",
            "/api/v1/users/{user_id}",
        ]
        return subprocess.run(cmd, check=False, cwd=workdir).returncode
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-examples", type=int, default=20)
    parser.add_argument("--max-time", type=int, default=120)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-fuzz-") as tmp:
        return fuzz(max_examples=args.max_examples, max_time_s=args.max_time, workdir=Path(tmp))


if __name__ == "__main__":
    sys.exit(main())
