"""A memo of identifications, so a second audit only stats files, and of whole scans
(:mod:`cachecensus.snapshot`), so a second audit of an unchanged pip cache stats only its
directories.

SQLite (stdlib), one row per file, keyed by (path, size, mtime_ns, inode): a file that
changed in any of those is identified again. Lives at
``platformdirs.user_cache_dir("cachecensus")/memo.sqlite`` (``CACHECENSUS_MEMO=PATH`` moves
it, ``CACHECENSUS_MEMO=off`` disables it). Paths are paths on this machine (a ``--root``
image's files never meet the host's).

- Schema-versioned: a ``meta`` table holds :data:`SCHEMA_VERSION`; any other version (or
  none) drops and rebuilds the tables, inside one immediate transaction, re-checked there so
  two processes upgrading at once do not drop each other's work.
- WAL journal and a busy timeout let concurrent runs share it; writes are batched, one
  transaction per :meth:`Memo.put_many`; a write that still cannot get the lock is dropped
  (the memo is an optimisation, never a reason to fail).
- A corrupt or foreign file is moved aside (``memo.sqlite.corrupt-<time>``) and rebuilt;
  the warning is returned in :attr:`Memo.warning` for the caller to report.
- Its directory must be the invoking user's (or root's) and writable by nobody else, and
  the database is never a symlink nor created through one (:mod:`cachecensus.statedir`):
  root run with a user's environment (``sudo -E``) keeps its memo under root's own home
  (from the password database) instead, or, when ``CACHECENSUS_MEMO`` names such a place,
  works without one (with a warning).
- Paths are bytes on POSIX: a path that is not UTF-8 (surrogateescape) is stored as a BLOB
  of its bytes (a TEXT row and a BLOB row never share a key: a path is one or the other),
  read back losslessly; a row whose other values are not UTF-8 is not memoised (that
  file is identified again next time).
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import sqlite3
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from cachecensus import statedir

SCHEMA_VERSION = 5
Key = tuple[int, int, int]  # (size, mtime_ns, inode)
Values = dict[str, str | None]
#: The memoised fields, in column order. ``kind`` NULL marks a row holding only a sha256.
COLUMNS = (
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
_BUSY_MS = 10_000
#: The database's file name in its directory.
FILE_NAME = "memo.sqlite"


def _odd(text: str) -> bool:
    """Whether ``text`` holds bytes that are not UTF-8 (lone surrogates)."""
    if text.isascii():
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _sql(text: str) -> str | bytes:
    """What a path (or key) is stored as: itself, or its bytes when it is not UTF-8."""
    return text.encode("utf-8", "surrogateescape") if _odd(text) else text


def _py(stored: str | bytes) -> str:
    return stored.decode("utf-8", "surrogateescape") if isinstance(stored, bytes) else stored


@dataclass(frozen=True)
class Memo:
    """An open memo database (``conn`` None: disabled; every lookup misses)."""

    path: str | None
    conn: sqlite3.Connection | None
    warning: str | None = None
    rebuilt: bool = False  # an older schema was dropped on opening

    def get_many(self, prefix: str) -> dict[str, tuple[Key, Values]]:
        """Every memoised file under the directory ``prefix`` (one query):
        path -> ((size, mtime_ns, inode), values)."""
        if self.conn is None:
            return {}
        base = prefix.rstrip("/") + "/"
        # a range on the primary key ('/' + 1 == '0'): an index scan, no LIKE escaping;
        # the paths that are not UTF-8 are BLOBs (sorted after all TEXT): a second range
        raw = base.encode("utf-8", "surrogateescape")
        bounds: list[tuple[str | bytes, str | bytes]] = [(raw, raw[:-1] + b"0")]
        if not _odd(base):
            bounds.insert(0, (base, base[:-1] + "0"))
        sql = (
            f"SELECT path, size, mtime_ns, inode, {', '.join(COLUMNS)} FROM ident "
            "WHERE path >= ? AND path < ?"
        )
        found: dict[str, tuple[Key, Values]] = {}
        try:
            for low, high in bounds:
                rows = self.conn.execute(sql, (low, high)).fetchall()
                found.update(
                    (
                        _py(row[0]),
                        ((row[1], row[2], row[3]), dict(zip(COLUMNS, row[4:], strict=True))),
                    )
                    for row in rows
                )
        except sqlite3.Error:
            return {}
        return found

    def get(self, path: str, key: Key) -> Values | None:
        """The values memoised for ``path`` if its (size, mtime_ns, inode) is still ``key``."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute(
                f"SELECT {', '.join(COLUMNS)} FROM ident "
                "WHERE path = ? AND size = ? AND mtime_ns = ? AND inode = ?",
                (_sql(path), *key),
            ).fetchone()
        except sqlite3.Error:
            return None
        return dict(zip(COLUMNS, row, strict=True)) if row else None

    def put_many(self, rows: Iterable[tuple[str, Key, Mapping[str, str | None]]]) -> None:
        """Store identifications in one transaction (best effort: a locked db is skipped).
        A sha256 already memoised for the same file version is kept."""
        if self.conn is None:
            return
        data = []
        for path, key, values in rows:
            row = [values.get(c) for c in COLUMNS]
            if not any(isinstance(v, str) and _odd(v) for v in row):
                data.append((_sql(path), *key, *row))
        if not data:
            return
        names = ", ".join(("path", "size", "mtime_ns", "inode", *COLUMNS))
        marks = ", ".join("?" * (4 + len(COLUMNS)))
        updates = ", ".join(f"{c} = excluded.{c}" for c in COLUMNS if c != "sha256")
        self._write(
            f"INSERT INTO ident ({names}) VALUES ({marks}) ON CONFLICT(path) DO UPDATE SET "
            f"size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode, "
            f"{updates}, sha256 = CASE WHEN ident.size = excluded.size AND "
            "ident.mtime_ns = excluded.mtime_ns AND ident.inode = excluded.inode "
            "THEN coalesce(excluded.sha256, ident.sha256) ELSE excluded.sha256 END",
            data,
        )

    def get_sha256(self, path: str, key: Key) -> str | None:
        found = self.get(path, key)
        return found.get("sha256") if found else None

    def put_sha256(self, path: str, key: Key, digest: str) -> None:
        """Remember a file's content hash (beside its identification, if any)."""
        if self.conn is None:
            return
        self._write(
            "INSERT INTO ident (path, size, mtime_ns, inode, sha256) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT(path) DO UPDATE SET sha256 = excluded.sha256, "
            "kind = CASE WHEN ident.size = excluded.size AND ident.mtime_ns = excluded.mtime_ns"
            " AND ident.inode = excluded.inode THEN ident.kind ELSE NULL END, "
            "size = excluded.size, mtime_ns = excluded.mtime_ns, inode = excluded.inode",
            [(_sql(path), *key, digest)],
        )

    def get_snapshot(self, key: str, writer: str) -> tuple[int, bytes, bytes, bytes | None] | None:
        """(taken_ns, dirs, head, summary) of the snapshot stored under ``key`` by
        ``writer`` (one written in another layout is none); its entries, the big part, are
        read apart (:meth:`get_snapshot_entries`)."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute(
                "SELECT taken_ns, dirs, head, summary FROM snapshot WHERE key = ? AND writer = ?",
                (_sql(key), writer),
            ).fetchone()
        except sqlite3.Error:
            return None
        return (row[0], row[1], row[2], row[3]) if row else None

    def get_snapshot_entries(self, key: str, taken_ns: int) -> bytes | None:
        """The entries of the snapshot ``key`` taken at ``taken_ns`` (None: replaced since)."""
        if self.conn is None:
            return None
        try:
            row = self.conn.execute(
                "SELECT entries FROM snapshot WHERE key = ? AND taken_ns = ?",
                (_sql(key), taken_ns),
            ).fetchone()
        except sqlite3.Error:
            return None
        return row[0] if row else None

    def put_snapshot(
        self, key: str, writer: str, taken_ns: int, dirs: bytes, head: bytes, entries: bytes
    ) -> None:
        """Store (replace: one row per cache, whatever wrote the last) the snapshot under
        ``key`` (best effort, like every write)."""
        if self.conn is not None:
            self._write(
                "INSERT OR REPLACE INTO snapshot VALUES (?, ?, ?, ?, ?, ?, NULL)",
                [(_sql(key), writer, taken_ns, dirs, head, entries)],
            )

    def put_snapshot_summary(self, key: str, taken_ns: int, summary: bytes) -> None:
        """Add the audit summary to the snapshot ``key`` taken at ``taken_ns`` (if still it)."""
        if self.conn is not None:
            self._write(
                "UPDATE snapshot SET summary = ? WHERE key = ? AND taken_ns = ?",
                [(summary, _sql(key), taken_ns)],
            )

    def forget_snapshots(self, keys: Sequence[str]) -> None:
        """Drop the snapshots under ``keys`` (a command changed those caches)."""
        if self.conn is not None and keys:
            self._write("DELETE FROM snapshot WHERE key = ?", [(_sql(k),) for k in keys])

    def _write(self, sql: str, data: Sequence[tuple[object, ...]]) -> None:
        assert self.conn is not None
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error:
            return
        try:
            self.conn.executemany(sql, data)
            self.conn.execute("COMMIT")
        except sqlite3.Error:
            with contextlib.suppress(sqlite3.Error):
                self.conn.execute("ROLLBACK")

    def close(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sqlite3.Error):
                self.conn.close()


def default_path(env: Mapping[str, str] | None = None) -> str | None:
    """Where the memo lives: ``$CACHECENSUS_MEMO`` (``off``: nowhere), else the user cache
    dir's ``cachecensus/memo.sqlite``."""
    env = os.environ if env is None else env
    override = env.get("CACHECENSUS_MEMO")
    if override is not None:
        return None if override.strip().lower() in ("off", "0", "no", "false", "") else override
    import platformdirs

    return os.path.join(platformdirs.user_cache_dir("cachecensus"), FILE_NAME)


def _place(path: str) -> str:
    """``path`` made safe to open (see the module's rules): its directory resolved and
    checked, the database file created when missing; raises OSError."""
    directory = statedir.trusted_dir(posixpath.dirname(posixpath.abspath(path)))
    return statedir.own_file(directory, posixpath.basename(path))


def _placed(path: str, explicit: bool) -> tuple[str | None, str | None]:
    """(where the memo may live, None) or (None, why it lives nowhere). The default place
    refused (root with a user's ``HOME``/``XDG_CACHE_HOME``) falls back to the invoking
    account's own home from the password database."""
    try:
        return _place(path), None
    except OSError as exc:
        why = f"memo {path} not used ({exc.strerror or exc}); working without it"
    fallback = None if explicit else statedir.home_cache_dir()
    if fallback is None or posixpath.join(fallback, FILE_NAME) == path:
        return None, why
    try:
        return _place(posixpath.join(fallback, FILE_NAME)), None
    except OSError:
        return None, why


def _schema_ok(conn: sqlite3.Connection) -> bool:
    found = conn.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
    return found is not None and found[0] == str(SCHEMA_VERSION)


def _connect(path: str) -> tuple[sqlite3.Connection, bool]:
    """Open ``path``, creating or rebuilding the schema; (connection, rebuilt an old one)."""
    conn = sqlite3.connect(path, timeout=_BUSY_MS / 1000, isolation_level=None)
    try:
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_MS}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        rebuilt = False
        if not _schema_ok(conn):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if not _schema_ok(conn):  # another process may have done it meanwhile
                    rebuilt = (
                        conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'ident'").fetchone()
                        is not None
                    )
                    columns = ", ".join(c + " TEXT" for c in COLUMNS)
                    conn.execute("DROP TABLE IF EXISTS ident")
                    conn.execute(
                        "CREATE TABLE ident (path TEXT PRIMARY KEY, size INTEGER, "
                        f"mtime_ns INTEGER, inode INTEGER, {columns})"
                    )
                    conn.execute("DROP TABLE IF EXISTS snapshot")
                    conn.execute(
                        "CREATE TABLE snapshot (key TEXT PRIMARY KEY, writer TEXT, "
                        "taken_ns INTEGER, dirs BLOB, head BLOB, entries BLOB, summary BLOB)"
                    )
                    conn.execute(
                        "INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
                conn.execute("COMMIT")
            except sqlite3.Error:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        # sqlite is lazy: make it read the table now so a corrupt file fails here
        conn.execute("SELECT count(*) FROM ident").fetchone()
    except BaseException:
        conn.close()
        raise
    return conn, rebuilt


def open_memo(path: str | None = None, *, env: Mapping[str, str] | None = None) -> Memo:
    """Open (creating, migrating or rebuilding) the memo at ``path`` (default:
    :func:`default_path`); never raises. Close it with :meth:`Memo.close`."""
    explicit = path is not None or "CACHECENSUS_MEMO" in (os.environ if env is None else env)
    path = path if path is not None else default_path(env)
    if path is None:
        return Memo(None, None)
    placed, why = _placed(path, explicit)
    if placed is None:
        return Memo(None, None, why)
    path = placed
    try:
        conn, rebuilt = _connect(path)
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return Memo(None, None, f"memo {path} is busy ({exc}); working without it")
        return _rebuild(path, exc)
    except sqlite3.DatabaseError as exc:
        return _rebuild(path, exc)
    except OSError as exc:
        return Memo(None, None, f"memo {path} cannot be created ({exc}); working without it")
    return Memo(path, conn, rebuilt=rebuilt)


def _rebuild(path: str, exc: Exception) -> Memo:
    aside = f"{path}.corrupt-{int(time.time())}"
    try:
        os.replace(path, aside)
    except OSError as move:
        return Memo(None, None, f"memo {path} unusable ({exc}; {move}); working without it")
    for suffix in ("-wal", "-shm"):
        with contextlib.suppress(OSError):
            os.unlink(path + suffix)
    try:
        conn, _ = _connect(path)
    except (sqlite3.Error, OSError) as again:
        return Memo(None, None, f"memo {path} unusable ({again}); working without it")
    return Memo(path, conn, f"memo {path} was unreadable ({exc}); moved to {aside}, rebuilt")
