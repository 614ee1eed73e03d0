"""WAL checkpoints run in their own thread, never inside a commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from hub.checkpoint import BACKSTOP_PAGES, WalCheckpointer
from hub.db import Database
from hub.migrate import upgrade_async


async def test_the_hub_connections_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'hub.db'}"
    await upgrade_async(url)
    db = Database(url)
    try:
        async with db.transaction() as session:
            conn = await session.connection()
            pages = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
            assert pages == BACKSTOP_PAGES
        assert db._checkpointer is not None and db._checkpointer._thread is not None
    finally:
        await db.dispose()
    assert db._checkpointer._thread is None  # stopped with the database


def test_a_passive_checkpoint_empties_the_wal_into_the_database(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")
    writer.execute("CREATE TABLE t (v TEXT)")
    writer.executemany("INSERT INTO t VALUES (?)", [("x" * 500,)] * 200)
    wal = path.with_name("x.db-wal")
    assert wal.stat().st_size > 0
    size_before = path.stat().st_size
    checkpointer = WalCheckpointer(path)
    reader = sqlite3.connect(path, isolation_level=None)
    checkpointer.checkpoint(reader)
    assert checkpointer.runs == 1
    assert path.stat().st_size > size_before  # the pages reached the database file
    busy, log_pages, done = writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert (busy, log_pages) == (0, done)  # nothing was left to copy
    reader.close()
    writer.close()
