"""`hub serve | worker | migrate | demo | simulate | backup | audit`: the operator's commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from hub.config import Settings, get_settings


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from hub import logs, migrate

    settings = get_settings()
    logs.configure(settings.log_level, settings.log_format)
    if not args.no_migrate:
        migrate.upgrade(settings.database_url)
    host, port = args.host or settings.host, args.port or settings.port
    banner = _banner(settings, host, port)
    if settings.log_format == "json":  # a log collector wants nothing but JSON lines
        logging.getLogger("hub").info("%s", banner.splitlines()[0], extra={"banner": banner})
    else:
        print(banner, flush=True)
    from hub.main import create_app
    from hub.server import DrainingServer

    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=logs.config(settings.log_level, settings.log_format),
        log_level=settings.log_level,
        access_log=False,  # hub.requestid writes one line a request, with its id
        workers=1,
        ws="websockets-sansio",
        ws_max_size=64 * 1024,
        ws_ping_interval=20.0,
        ws_ping_timeout=20.0,
    )
    DrainingServer(config, app.state.hub).run()
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from hub import migrate

    url = get_settings().database_url
    if args.revision.startswith("-") or args.down:
        migrate.downgrade(url, args.revision)
    else:
        migrate.upgrade(url, args.revision)
    print(f"database at {args.revision}: {_redact(url)}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from hub.demo.load import load_demo

    settings = get_settings()
    code: int = asyncio.run(
        load_demo(
            settings,
            cases=args.cases,
            only_if_empty=args.if_empty,
            history_days=args.history_days,
            history_cases=args.history_cases,
        )
    )
    return code


def _simulate(args: argparse.Namespace) -> int:
    from workers.simulator import run_simulator

    code: int = asyncio.run(
        run_simulator(
            get_settings(), rate_per_s=args.rate, duration_s=args.duration, late_share=args.late
        )
    )
    return code


def _worker(args: argparse.Namespace) -> int:
    from workers.timers import run_worker

    code: int = asyncio.run(
        run_worker(get_settings(), worker_id=args.id, metrics_port=args.metrics_port)
    )
    return code


def _health(args: argparse.Namespace) -> int:
    import urllib.request

    # The container's HEALTHCHECK: this process's own port, whatever address it listens on.
    url = f"http://127.0.0.1:{args.port or get_settings().port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=args.timeout_s) as response:
            ok = response.status == 200
    except OSError as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


def _banner(settings: Settings, host: str, port: int) -> str:
    from hub.demo.accounts import account_lines

    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    lines = [
        f"Hub on {base}  (database: {_redact(settings.database_url)})",
        f"  API docs   {base}/docs",
        f"  health     {base}/healthz    metrics {base}/metrics",
    ]
    if settings.mode == "demo":
        lines += ["", *asyncio.run(account_lines(settings))]
    return "\n".join(lines)


def _assessment_rebuild(args: argparse.Namespace) -> int:
    from hub.assessment.projection import rebuild_all
    from hub.clock import SystemClock
    from hub.db import Database

    def progress(events: int, total: int) -> None:
        print(f"\rfolded {events} of {total} events", end="", file=sys.stderr, flush=True)

    async def run() -> int:
        db = Database(get_settings().database_url)
        try:
            return await rebuild_all(db, SystemClock(), progress=progress)
        finally:
            await db.dispose()

    folded = asyncio.run(run())
    print(file=sys.stderr)
    # Events are folded once the relay has numbered them (it runs in `hub serve` and `hub
    # worker`); newer ones are folded by the running hub as it numbers them.
    print(f"assessment rebuilt from {folded} numbered events")
    return 0


def _audit(args: argparse.Namespace) -> int:
    from hub.audit.chains import VerifyReport, verify_chains
    from hub.db import Database

    def progress(report: VerifyReport) -> None:
        print(
            f"\rchecked {report.cases} cases, {report.events} events, {len(report.breaks)} broken",
            end="",
            file=sys.stderr,
            flush=True,
        )

    async def run() -> VerifyReport:
        db = Database(get_settings().database_url)
        try:
            return await verify_chains(db, progress=progress)
        finally:
            await db.dispose()

    report = asyncio.run(run())
    print(file=sys.stderr)
    for broken in report.breaks:
        print(f"BROKEN case {broken.case_id} at event {broken.seq}: {broken.reason}")
    if report.ok:
        print(f"OK: {report.cases} cases, {report.events} events, every chain intact")
        return 0
    print(f"FAILED: {len(report.breaks)} of {report.cases} cases have a broken chain")
    return 1


def _backup(args: argparse.Namespace) -> int:
    from pathlib import Path

    from hub.backup import BackupError, backup

    def progress(done: int, total: int) -> None:
        print(f"\rcopied {done} of {total} pages", end="", file=sys.stderr, flush=True)

    url = get_settings().database_url
    try:
        made = backup(url, Path(args.file), progress)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 1
    print(file=sys.stderr)
    contents = (
        f"{made.cases} cases, {made.events} events"
        if made.cases is not None
        else f"{made.entries} archive entries"
    )
    print(f"backed up {_redact(url)} to {made.path} ({made.bytes:,} bytes; {contents})")
    return 0


def _redact(url: str) -> str:
    if "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="whistle-and-report dispatch hub")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub (migrates first)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.add_argument("--no-migrate", action="store_true")
    serve.set_defaults(func=_serve)

    worker = sub.add_parser(
        "worker", help="run the SLA timers and the outbox relay as a process of their own"
    )
    worker.add_argument("--id", help="worker id on claimed rows (default host:pid:random)")
    worker.add_argument("--metrics-port", type=int, help="serve /metrics on this port")
    worker.set_defaults(func=_worker)

    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.add_argument("revision", nargs="?", default="head")
    mig.add_argument("--down", action="store_true", help="downgrade to the revision")
    mig.set_defaults(func=_migrate)

    demo = sub.add_parser("demo", help="load the demo city, accounts and sample cases")
    demo.add_argument(
        "--cases", type=int, default=400, help="sample cases over the last three days"
    )
    demo.add_argument(
        "--history-days",
        type=int,
        default=120,
        help="days of finished history the sample covers, the last three included",
    )
    demo.add_argument(
        "--history-cases",
        type=int,
        default=700,
        help="finished cases over the history before the last three days (0: none)",
    )
    demo.add_argument("--if-empty", action="store_true", help="do nothing if data exists")
    demo.set_defaults(func=_demo)

    sim = sub.add_parser("simulate", help="keep creating cases and moving them along")
    sim.add_argument("--rate", type=float, default=1.0, help="new cases per second")
    sim.add_argument("--duration", type=float, default=0.0, help="seconds; 0 runs until ^C")
    sim.add_argument("--late", type=float, default=0.15, help="share of cases handled late")
    sim.set_defaults(func=_simulate)
    health = sub.add_parser("health", help="exit 0 if the hub on this machine answers /healthz")
    health.add_argument("--port", type=int, help="default HUB_PORT")
    health.add_argument("--timeout-s", type=float, default=2.5)
    health.set_defaults(func=_health)

    back = sub.add_parser(
        "backup", help="copy the database to FILE while the hub runs (docs/operations.md)"
    )
    back.add_argument("file", help="where to write it (never overwritten)")
    back.set_defaults(func=_backup)

    audit = sub.add_parser("audit", help="check the tamper-evident timelines")
    audit_sub = audit.add_subparsers(dest="audit_command", required=True)
    verify = audit_sub.add_parser("verify", help="re-check every case's hash chain")
    verify.set_defaults(func=_audit)

    assess = sub.add_parser("assessment", help="the assessment projection (docs/assessment.md)")
    assess_sub = assess.add_subparsers(dest="assessment_command", required=True)
    rebuild = assess_sub.add_parser(
        "rebuild", help="forget the projection and fold every case's timeline again"
    )
    rebuild.set_defaults(func=_assessment_rebuild)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    sys.exit(main())
