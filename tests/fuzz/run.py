"""Schemathesis against the hub's own OpenAPI spec, served by a real uvicorn process on a
seeded SQLite database. `python -m tests.fuzz.run --max-examples N` (make fuzz runs long).

Schemathesis 4 runs its phases in order: examples, coverage, fuzzing, and stateful, where
it chains operations along links it infers from the schema (a case `id` in `POST /cases`'s
answer feeds `GET /cases/{case_id}`, `POST /cases/{case_id}/acknowledge`, ...) and from
`Location` headers. `--har PATH` records every request it made, so a run can say how many
it made (`--min-requests N` fails a run that made fewer)."""

from __future__ import annotations

import argparse
import asyncio
import json
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


def _wait(url: str, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"hub did not come up at {url}")


def requests_made(har: Path) -> tuple[int, dict[str, int]]:
    """Requests in a HAR file: the total and per status class ("2xx", "4xx", ...)."""
    entries = json.loads(har.read_text())["log"]["entries"]
    classes: dict[str, int] = {}
    for entry in entries:
        key = f"{entry['response']['status'] // 100}xx"
        classes[key] = classes.get(key, 0) + 1
    return len(entries), classes


def fuzz(
    *,
    max_examples: int,
    max_time_s: int,
    workdir: Path,
    phases: str | None = None,
    har: Path | None = None,
    workers: int = 1,
) -> int:
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
            str(workers),
            "--no-color",
            *(["--phases", phases] if phases else []),
            *(["--report", "har", "--report-har-path", str(har)] if har else []),
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
    parser.add_argument("--phases", help="e.g. examples,coverage,fuzzing,stateful (all)")
    parser.add_argument("--workers", type=int, default=1, help="schemathesis workers")
    parser.add_argument("--har", type=Path, help="record every request made here")
    parser.add_argument("--min-requests", type=int, default=0, help="fail below this (needs --har)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hub-fuzz-") as tmp:
        code = fuzz(
            max_examples=args.max_examples,
            max_time_s=args.max_time,
            workdir=Path(tmp),
            phases=args.phases,
            har=args.har.resolve() if args.har else None,
            workers=args.workers,
        )
    if args.har is not None:
        total, classes = requests_made(args.har)
        print(f"requests made: {total} {dict(sorted(classes.items()))} (HAR: {args.har})")
        if total < args.min_requests:
            print(f"FAILED: fewer than the {args.min_requests} requests asked for")
            return code or 1
    return code


if __name__ == "__main__":
    sys.exit(main())
