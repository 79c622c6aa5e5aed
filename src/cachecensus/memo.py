"""A memo of identifications, so a second audit only stats files.

SQLite (stdlib), keyed by (path, size, mtime_ns, inode): a file that changed in any of
those is identified again. Lives at ``platformdirs.user_cache_dir("cachecensus")/memo.sqlite``
(``CACHECENSUS_MEMO=PATH`` moves it, ``CACHECENSUS_MEMO=off`` disables it). WAL journal and
a busy timeout let concurrent runs share it; a corrupt or foreign database is moved aside
and rebuilt, with a warning the caller reports.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

SCHEMA_VERSION = 2
Key = tuple[int, int, int]  # (size, mtime_ns, inode)
_COLUMNS = (
    "kind",
    "project",
    "version",
    "filename",
    "content_type",
    "detail",
    "date",
    "url",
    "sha256",
)


@dataclass(frozen=True)
class Memo:
    """An open memo database (``path`` None: disabled; every lookup misses)."""

    path: str | None
    conn: sqlite3.Connection | None
    warning: str | None = None

    def get_many(
        self, prefix: str
    ) -> dict[str, tuple[tuple[int, int, int], dict[str, str | None]]]:
        """Every memoised file under the directory ``prefix``: path -> (key, values)."""
        if self.conn is None:
            return {}
        like = prefix.rstrip("/").replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        try:
            rows = self.conn.execute(
                f"SELECT path, size, mtime_ns, inode, {', '.join(_COLUMNS)} FROM ident "
                "WHERE path LIKE ? ESCAPE '\\'",
                (like + "/%",),
            ).fetchall()
        except sqlite3.Error:
            return {}
        return {
            row[0]: ((row[1], row[2], row[3]), dict(zip(_COLUMNS, row[4:], strict=True)))
            for row in rows
        }

    def put_many(self, rows: Iterable[tuple[str, Key, Mapping[str, str | None]]]) -> None:
        """Store identifications in one transaction (best effort: a busy db is skipped)."""
        if self.conn is None:
            return
        data = [(path, *key, *(values.get(c) for c in _COLUMNS)) for path, key, values in rows]
        if not data:
            return
        placeholders = ", ".join("?" * (4 + len(_COLUMNS)))
        with contextlib.suppress(sqlite3.Error), self.conn:
            self.conn.executemany(f"INSERT OR REPLACE INTO ident VALUES ({placeholders})", data)

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def default_path(env: Mapping[str, str] | None = None) -> str | None:
    env = os.environ if env is None else env
    override = env.get("CACHECENSUS_MEMO")
    if override is not None:
        return None if override.strip().lower() in ("off", "0", "no", "") else override
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("cachecensus"), "memo.sqlite")


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, timeout=10, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
    found = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    if found is None or found[0] != str(SCHEMA_VERSION):
        columns = ", ".join(c + " TEXT" for c in _COLUMNS)
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute("DROP TABLE IF EXISTS ident")
            conn.execute(
                "CREATE TABLE ident (path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, "
                f"inode INTEGER, {columns})"
            )
            conn.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
            conn.execute("COMMIT")
        except sqlite3.Error:
            conn.execute("ROLLBACK")
            raise
    # sqlite is lazy: make it read the table now so a corrupt file fails here
    conn.execute("SELECT count(*) FROM ident").fetchone()
    return conn


def open_memo(path: str | None = None, *, env: Mapping[str, str] | None = None) -> Memo:
    """Open (creating, migrating or rebuilding) the memo; never raises."""
    path = path if path is not None else default_path(env)
    if path is None:
        return Memo(None, None)
    try:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return Memo(path, _connect(path))
    except sqlite3.DatabaseError as exc:
        aside = f"{path}.corrupt-{int(time.time())}"
        with contextlib.suppress(OSError):
            os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(OSError):
                os.unlink(path + suffix)
        try:
            conn = _connect(path)
        except (sqlite3.Error, OSError) as again:
            return Memo(None, None, f"memo {path} unusable ({again}); working without it")
        return Memo(path, conn, f"memo {path} was unreadable ({exc}); moved to {aside}, rebuilt")
    except OSError as exc:
        return Memo(None, None, f"memo {path} cannot be created ({exc}); working without it")
