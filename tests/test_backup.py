"""`hub backup` on both databases while the hub has them open, and the restore that
docs/operations.md describes: the restored database has every case and event, and every
hash chain in it verifies."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from pathlib import Path

import httpx
import pytest

from hub.audit.chains import verify_chains
from hub.backup import BackupError, backup, libpq_url
from hub.db import Database
from hub.deps import Hub
from tests.helpers import Api, Auth
from tests.servers import PostgresServer, _pg_bin


async def _counts(db: Database) -> tuple[int, int]:
    from sqlalchemy import text

    async with db.read() as session:
        conn = await session.connection()
        cases = (await conn.execute(text("SELECT count(*) FROM cases"))).scalar_one()
        events = (await conn.execute(text("SELECT count(*) FROM case_events"))).scalar_one()
    return cases, events


async def test_backup_while_open_and_restore(
    client: httpx.AsyncClient, auth: Auth, hub: Hub, db_url: str, tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    api = Api(client, auth)
    for _ in range(3):
        await api.create(category_code="T01")
    before = await _counts(hub.db)
    target = tmp_path / "backups" / "hub.backup"
    seen: list[tuple[int, int]] = []
    made = backup(db_url, target, lambda done, total: seen.append((done, total)))
    assert made.path == target and made.bytes > 0 and target.exists()
    assert not list(target.parent.glob("*.partial"))
    await api.create(category_code="T01")  # after the backup: not in it

    if db_url.startswith("sqlite"):
        assert (made.cases, made.events) == before
        assert seen and seen[-1][0] == seen[-1][1]
        restored = tmp_path / "restored.db"
        shutil.copy(target, restored)  # the restore: the file back in place, hub stopped
        url = f"sqlite+aiosqlite:///{restored}"
    else:
        assert made.entries is not None and made.entries > 10
        pg: PostgresServer = request.getfixturevalue("pg")
        pg.psql("CREATE DATABASE restored_backup")
        dsn, _ = libpq_url(pg.url("restored_backup"))
        restore = [_pg_bin("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={dsn}"]
        await asyncio.to_thread(subprocess.run, [*restore, str(target)], check=True)
        url = pg.url("restored_backup")
    db = Database(url)
    try:
        assert await _counts(db) == before
        report = await verify_chains(db)
        assert report.ok and report.cases == before[0] and report.events == before[1]
    finally:
        await db.dispose()
        if not db_url.startswith("sqlite"):
            pg.psql("DROP DATABASE restored_backup WITH (FORCE)")


def test_a_backup_never_overwrites_and_says_what_it_cannot_do(tmp_path: Path) -> None:
    existing = tmp_path / "there.db"
    existing.write_bytes(b"keep me")
    with pytest.raises(BackupError, match="exists"):
        backup(f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}", existing)
    assert existing.read_bytes() == b"keep me"
    with pytest.raises(BackupError, match="in-memory"):
        backup("sqlite+aiosqlite:///:memory:", tmp_path / "a.db")
    with pytest.raises(BackupError, match="no database at"):
        backup(f"sqlite+aiosqlite:///{tmp_path / 'missing.db'}", tmp_path / "b.db")
    with pytest.raises(BackupError, match="no backup for this database: mysql"):
        backup("mysql://x/y", tmp_path / "c.db")


def test_the_password_goes_to_the_environment_not_the_command_line() -> None:
    dsn, env = libpq_url("postgresql+asyncpg://hub:s%40cret@db:5432/hub?sslmode=require")
    assert dsn == "postgresql://hub@db:5432/hub?sslmode=require"
    assert env == {"PGPASSWORD": "s@cret"}
