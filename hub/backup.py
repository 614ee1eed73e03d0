"""`hub backup FILE`: a consistent copy of the database while the hub keeps running.

SQLite: the online backup API (pages copied under SQLite's own locking, so a write in
progress is either in the copy or not, never half), then `PRAGMA integrity_check` on the
copy. PostgreSQL: `pg_dump --format=custom` (one snapshot of the whole database), then
`pg_restore --list` to check the archive reads back. Restoring is in docs/operations.md."""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from hub.db import sqlite_file

PAGES_PER_STEP = 4096  # about 16 MiB a step: progress shows, the hub's writers get turns


class BackupError(Exception):
    pass


@dataclass(frozen=True)
class Backup:
    path: Path
    bytes: int
    cases: int | None  # counted in the copy (SQLite); None for a PostgreSQL archive
    events: int | None
    entries: int | None  # archive entries (PostgreSQL)


def backup(url: str, target: Path, progress: Callable[[int, int], None] | None = None) -> Backup:
    if target.exists():
        raise BackupError(f"{target} exists: a backup never overwrites a file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("sqlite"):
        return _sqlite(url, target, progress)
    if url.startswith("postgresql"):
        return _postgres(url, target)
    raise BackupError(f"no backup for this database: {url.split(':', 1)[0]}")


def _sqlite(url: str, target: Path, progress: Callable[[int, int], None] | None) -> Backup:
    source = sqlite_file(url)
    if source is None:
        raise BackupError("an in-memory database has nothing to back up")
    if not source.exists():
        raise BackupError(f"no database at {source}")

    def step(_status: int, remaining: int, total: int) -> None:
        if progress is not None:
            progress(total - remaining, total)

    partial = target.with_name(target.name + ".partial")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(partial)
    try:
        src.backup(dst, pages=PAGES_PER_STEP, progress=step)
        check = dst.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the copy fails integrity_check: {check}")
        cases = dst.execute("SELECT count(*) FROM cases").fetchone()[0]
        events = dst.execute("SELECT count(*) FROM case_events").fetchone()[0]
    finally:
        dst.close()
        src.close()
    partial.rename(target)  # a failed run leaves a .partial, never a file that looks whole
    return Backup(target, target.stat().st_size, cases, events, None)


def _pg_tool(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if found is None:
        raise BackupError(f"{name} not found: install the PostgreSQL client tools")
    return found


def libpq_url(url: str) -> tuple[str, dict[str, str]]:
    """The SQLAlchemy URL as libpq takes it, the password moved to PGPASSWORD (an argument
    would show in `ps` to every user of the machine)."""
    parts = urlsplit(url)
    scheme = parts.scheme.split("+", 1)[0]
    env = {}
    netloc = parts.netloc
    if parts.password is not None:
        env["PGPASSWORD"] = unquote(parts.password)
        netloc = netloc.replace(f":{parts.password}@", "@", 1)
    return urlunsplit((scheme, netloc, parts.path, parts.query, "")), env


def _postgres(url: str, target: Path) -> Backup:
    dsn, env = libpq_url(url)
    partial = target.with_name(target.name + ".partial")
    run_env = {**os.environ, **env}
    dump = subprocess.run(
        [_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={partial}", dsn],
        env=run_env,
        capture_output=True,
        text=True,
    )
    if dump.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {dump.stderr.strip()[:500]}")
    listing = subprocess.run(
        [_pg_tool("pg_restore"), "--list", str(partial)], capture_output=True, text=True
    )
    if listing.returncode != 0:
        raise BackupError(f"the archive does not read back: {listing.stderr.strip()[:500]}")
    entries = sum(1 for line in listing.stdout.splitlines() if line and line[0].isdigit())
    partial.rename(target)
    return Backup(target, target.stat().st_size, None, None, entries)
