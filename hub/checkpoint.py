"""SQLite WAL checkpoints off the commit path.

By default SQLite checkpoints inside the commit that pushes the WAL past 1,000 pages: that
commit copies the pages back into the database file and fsyncs it, and every request
waiting on it stalls for tens of milliseconds every few seconds. Here a thread of its own
runs a PASSIVE checkpoint (it never blocks a reader or a writer) every second, and the
connections' own automatic checkpoint stays only as a backstop far above that."""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)
INTERVAL_S = 1.0
# The hub's connections still checkpoint by themselves past this many WAL pages (~80 MB),
# so the WAL cannot grow without bound if this thread ever falls behind.
BACKSTOP_PAGES = 20_000


class WalCheckpointer:
    def __init__(self, path: Path, interval_s: float = INTERVAL_S) -> None:
        self.path = path
        self.interval_s = interval_s
        self.runs = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        conn = sqlite3.connect(self.path, isolation_level=None)
        try:
            while not self._stop.wait(self.interval_s):
                self.checkpoint(conn)
        finally:
            conn.close()

    def checkpoint(self, conn: sqlite3.Connection) -> None:
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.runs += 1
        except sqlite3.Error as exc:  # a busy or vanished file: the backstop still holds
            log.warning("WAL checkpoint of %s failed: %s", self.path, exc)
