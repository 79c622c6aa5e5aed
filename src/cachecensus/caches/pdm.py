"""pdm's cache on disk, entry by entry (pdm 2.x; ``cache_dir``, see
:mod:`cachecensus.resolve.pdm`).

Layout, as pdm 2.29 writes it (``pdm/models/caches.py``, ``pdm/models/session.py``):

- ``http/http-cache.db`` (+ ``-wal``, ``-shm`` while open): pdm's HTTP cache is a *hishel*
  SQLite database (hishel 1.4, pdm's locked version: tables ``entries(id, cache_key, data,
  created_at, deleted_at)`` with ``data`` msgpack of the request -- URL included -- and
  response headers, and ``streams(entry_id, chunk_number, chunk_data)`` holding the bodies).
  Index pages, downloaded wheels and sdists are rows of that one file: it is one entry here
  (``pdm cache clear http`` deletes the file; nothing removes single rows), and its rows
  are listed by :func:`http_rows`. Any other file in ``http/`` is a pre-hishel-1.0 cache
  file pdm deletes on its next run.
- ``hashes/aa/bb/cc/dd/<rest of sha224(url)>``: ``sha256:<hex>`` of the artifact at that
  URL (``HashCache``); the URL is only hashed into the path, so the project is known when
  the HTTP cache still holds that URL. ``atomic-write-*`` files are interrupted writes.
- ``wheels/aa/bb/cc/<50 hex>/NAME-VER-TAGS.whl``: wheels pdm built from sdists
  (``WheelCache``; the hash is of the link and target environment).
- ``metadata/package_meta_<sha1>.json``: resolved dependencies of many candidates, one
  file per ``requires-python`` (``CandidateInfoCache``).
- ``packages/<wheel filename>.cache/``: unpacked wheels that installs link to
  (``install.cache = true``); ``.referrers`` lists the installs using it. ``pdm cache clear
  packages`` only removes packages no existing install refers to, and so does cachecensus.
- ``self-check/``: pdm's version-check state (``SELFCHECK``, never removed); ``plugins/``,
  ``.compat_libs/``, ``pip.whl``, ``use_cache.json`` are pdm's own but not cache entries
  (``pdm cache clear`` keeps them): strays.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import stat
import urllib.parse
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from cachecensus.caches.base import CacheFormat, ScannerBase, has_dir, has_file
from cachecensus.caches.pip import _open
from cachecensus.caches.poetry import split_archive
from cachecensus.host import Host
from cachecensus.memo import Memo
from cachecensus.models import CacheScan, Entry, FileInfo, Kind, Problem

TOOL = "pdm"
LOCK: str | None = None
#: pdm writes no marker file; what every pdm cache in use has: the HTTP database any
#: networked run creates, or the version check's directory (neither ``purge`` removes
#: the latter). Nothing is removed from a directory with neither.
MARKER = "http/http-cache.db or self-check/"

#: ``pdm cache clear``'s types, in its order.
CACHE_TYPES = ("hashes", "http", "wheels", "metadata", "packages")
HTTP_DB = "http-cache.db"
_DB_FILES = {HTTP_DB: "record", f"{HTTP_DB}-wal": "body", f"{HTTP_DB}-shm": "body"}
_DB_FILES[f"{HTTP_DB}-journal"] = "body"
_HEX = frozenset("0123456789abcdef")
_ATOMIC = re.compile(r"^atomic-write-[a-z0-9_]{8}$")  # tempfile.mkstemp(prefix="atomic-write-")
_META = re.compile(r"^package_meta_[0-9a-f]{40}\.json$")
_PACKAGE_FILES = (".lock", ".checksum", ".referrers")
IN_USE = "in use by"
#: Rows of the HTTP database read at most (a cache of a million responses is read in part).
MAX_ROWS = 200_000

Raw = tuple[str, os.stat_result]


def _hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in _HEX for c in text)


# ---------------------------------------------------------------------- shapes


def _hash_shaped(parts: Sequence[str]) -> bool:
    """``aa/bb/cc/dd/<48 hex>`` (``HashCache._get_path_for_key``)."""
    return len(parts) == 5 and all(_hex(p, 2) for p in parts[:4]) and _hex(parts[4], 48)


def _wheel_dir_shaped(parts: Sequence[str]) -> bool:
    """``aa/bb/cc/<50 hex>`` (``WheelCache._get_path_parts``)."""
    return len(parts) == 4 and all(_hex(p, n) for p, n in zip(parts, (2, 2, 2, 50), strict=True))


def _package_dir(name: str) -> bool:
    return name.endswith(".whl.cache") and not name.startswith(".") and "-" in name


def cache_shape(rel: str) -> str | None:
    """The role of ``rel`` (relative to a pdm cache dir) if pdm writes files there:
    ``record`` (a hash, metadata file, the HTTP database, a package's ``.referrers``),
    ``wheel``, ``tmp`` (interrupted writes, a package's ``.lock``), ``body`` (the
    database's ``-wal``/``-shm``), ``member`` (a file of an unpacked package); None for
    anything else."""
    parts = rel.split("/")
    area = parts[0]
    if area == "hashes" and len(parts) == 6 and all(_hex(p, 2) for p in parts[1:5]):
        if _hex(parts[5], 48):
            return "record"
        return "tmp" if _ATOMIC.match(parts[5]) else None
    if area == "wheels" and len(parts) == 6 and _wheel_dir_shaped(parts[1:5]):
        name = parts[5]
        return "wheel" if name.endswith(".whl") and "-" in name and name[0] != "." else None
    if area == "http" and len(parts) == 2:
        return _DB_FILES.get(parts[1])
    if area == "metadata" and len(parts) == 2:
        if _META.match(parts[1]):
            return "record"
        return "tmp" if _ATOMIC.match(parts[1]) else None
    if area == "packages" and len(parts) >= 3 and _package_dir(parts[1]):
        if any(p in ("", ".", "..") for p in parts[2:]):
            return None
        if len(parts) == 3 and parts[2] in _PACKAGE_FILES:
            return "record" if parts[2] == ".referrers" else "tmp"
        return "member"
    return None


# ---------------------------------------------------------------------- the HTTP database


@dataclass(frozen=True)
class HttpRow:
    """One response in pdm's hishel database."""

    url: str
    kind: Kind
    project: str | None
    version: str | None
    filename: str | None
    size: int  # body bytes (the sum of its stream chunks)
    created: float
    deleted: bool  # soft-deleted: hishel removes it for good later
    content_type: str | None


_SIMPLE = re.compile(r"/simple/([^/]+)/?$")


def _first(headers: Any, name: str) -> str | None:
    if not isinstance(headers, dict):
        return None
    value = headers.get(name)
    if isinstance(value, list) and value and isinstance(value[0], str):
        return value[0][:300]
    return value[:300] if isinstance(value, str) else None


def classify_url(url: str) -> tuple[Kind, str | None, str | None, str | None]:
    """(kind, project, version, filename) of a URL pdm fetched: an archive by its file
    name, a ``/simple/<name>/`` page as an index page, anything else unknown."""
    from packaging.utils import canonicalize_name

    path = urllib.parse.urlsplit(url).path
    filename = urllib.parse.unquote(path.rsplit("/", 1)[-1])
    parsed = split_archive(filename) if filename else None
    if parsed is not None:
        return parsed[2], parsed[0], parsed[1], filename
    page = _SIMPLE.search(path)
    if page:
        return (
            Kind.INDEX_PAGE,
            str(canonicalize_name(urllib.parse.unquote(page.group(1)))),
            None,
            None,
        )
    return Kind.UNKNOWN, None, None, None


def _connect(real_db: str) -> sqlite3.Connection:
    """The database opened read-only without creating or changing any file: ``immutable``
    when no WAL holds pending pages, else plain ``mode=ro`` (which needs the ``-shm`` that
    a writer keeps beside it)."""
    quoted = urllib.parse.quote(real_db)
    wal = real_db + "-wal"
    try:
        pending = os.lstat(wal).st_size > 0 and os.path.lexists(real_db + "-shm")
    except OSError:
        pending = False
    flags = "mode=ro" if pending else "mode=ro&immutable=1"
    conn = sqlite3.connect(f"file:{quoted}?{flags}", uri=True, timeout=1.0)
    conn.execute("PRAGMA query_only = ON")
    return conn


def read_http_db(real_db: str) -> list[HttpRow]:
    """Every response in the hishel database at ``real_db`` (a path on this machine);
    raises ValueError when it is not one."""
    import msgpack

    try:
        conn = _connect(real_db)
    except sqlite3.Error as exc:
        raise ValueError(f"cannot open: {exc}") from exc
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
        if not {"id", "data"} <= columns:
            raise ValueError("no hishel entries table")
        created = "created_at" if "created_at" in columns else "0"
        deleted = "deleted_at" if "deleted_at" in columns else "NULL"
        sizes: dict[bytes, int] = {}
        try:
            for entry_id, total in conn.execute(
                "SELECT entry_id, SUM(LENGTH(chunk_data)) FROM streams GROUP BY entry_id"
            ):
                sizes[bytes(entry_id)] = int(total or 0)
        except sqlite3.Error:
            pass
        rows: list[HttpRow] = []
        query = f"SELECT id, data, {created}, {deleted} FROM entries LIMIT {MAX_ROWS}"
        for entry_id, data, when, gone in conn.execute(query):
            try:
                doc = msgpack.unpackb(bytes(data), raw=False, strict_map_key=False)
                request, response = doc["request"], doc["response"]
                url = request["url"]
                if not isinstance(url, str):
                    raise TypeError("url")
            except Exception:  # msgpack raises many types on garbage
                continue
            kind, project, version, filename = classify_url(url)
            rows.append(
                HttpRow(
                    url=url[:2000],
                    kind=kind,
                    project=project,
                    version=version,
                    filename=filename,
                    size=sizes.get(bytes(entry_id), 0),
                    created=float(when or 0),
                    deleted=gone is not None,
                    content_type=_first(response.get("headers"), "content-type"),
                )
            )
        return rows
    except sqlite3.Error as exc:
        raise ValueError(f"unreadable database: {exc}") from exc
    finally:
        conn.close()


def http_rows(host: Host, cache_dir: str) -> list[HttpRow]:
    """The responses in the HTTP cache of the pdm cache at system path ``cache_dir``
    ([] when there is none); raises ValueError for a database that cannot be read."""
    real = host.real(cache_dir.rstrip("/") + f"/http/{HTTP_DB}")
    try:
        if not stat.S_ISREG(os.lstat(real).st_mode):
            return []
    except OSError:
        return []
    return read_http_db(real)


def url_key(url: str) -> str:
    """``hashes/`` path of ``url`` (``HashCache._get_path_for_key``) relative to the area."""
    hashed = hashlib.sha224(url.encode("utf-8")).hexdigest()
    return "/".join((hashed[:2], hashed[2:4], hashed[4:6], hashed[6:8], hashed[8:]))


# ---------------------------------------------------------------------- the scanner


class _Scanner(ScannerBase):
    tool = TOOL

    def __init__(self, host: Host, cache_dir: str, identify: bool) -> None:
        super().__init__(host, cache_dir)
        self.identify = identify
        self.problems: list[Problem] = []
        self.rows: list[HttpRow] = []

    def stray(self, raw: Raw, detail: str) -> Entry:
        area = raw[0].split("/")[0] if "/" in raw[0] else ""
        return self.entry(area, raw[0], Kind.STRAY, [raw], detail=detail)

    def orphan(self, raw: Raw) -> Entry:
        detail = "temporary file of an interrupted write"
        return self.entry(raw[0].split("/")[0], raw[0], Kind.ORPHAN, [raw], detail=detail)

    # ------------------------------------------------------------------ areas

    def http(self, raws: list[Raw]) -> list[Entry]:
        out: list[Entry] = []
        db = [r for r in raws if r[0].count("/") == 1 and r[0][5:] in _DB_FILES]
        for raw in raws:
            if raw in db:
                continue
            detail = "a pre-hishel-1.0 HTTP cache file (pdm deletes it on its next run)"
            out.append(self.entry("http", raw[0], Kind.UNKNOWN, [raw], detail=detail))
        if not db:
            return out
        db.sort(key=lambda r: (r[0] != f"http/{HTTP_DB}", r[0]))
        main = db[0]
        if main[0] != f"http/{HTTP_DB}":
            detail = "database side file without its database"
            out.append(self.entry("http", main[0], Kind.ORPHAN, db, detail=detail))
            return out
        if not self.identify:
            out.append(self.entry("http", main[0], Kind.UNKNOWN, db, detail="not identified"))
            return out
        try:
            self.rows = read_http_db(self.real(main[0]))
        except ValueError as exc:
            detail = f"HTTP cache database: {exc}"[:300]
            out.append(self.entry("http", main[0], Kind.CORRUPT, db, detail=detail))
            return out
        live = [r for r in self.rows if not r.deleted]
        counts: dict[str, int] = {}
        for row in live:
            counts[row.kind.value] = counts.get(row.kind.value, 0) + 1
        projects = sorted({r.project for r in live if r.project})
        what = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no responses"
        detail = f"hishel HTTP cache database: {what}"
        if projects:
            shown = ", ".join(projects[:20]) + (", ..." if len(projects) > 20 else "")
            detail += f" (projects: {shown})"
        out.append(
            self.entry(
                "http",
                main[0],
                Kind.UNKNOWN,
                db,
                detail=detail[:2000],
                content_type="application/vnd.sqlite3",
            )
        )
        return out

    def hashes(self, raws: list[Raw]) -> list[Entry]:
        urls = {url_key(r.url): r for r in self.rows}
        out: list[Entry] = []
        for raw in raws:
            parts = raw[0].split("/")
            if len(parts) == 6 and all(_hex(p, 2) for p in parts[1:5]) and _ATOMIC.match(parts[5]):
                out.append(self.orphan(raw))
                continue
            if not _hash_shaped(parts[1:]):
                out.append(self.stray(raw, "not a hash cache file name"))
                continue
            row = urls.get("/".join(parts[1:]))
            digest = self._read_hash(raw) if self.identify else None
            if row is not None:
                detail = f"{digest or 'hash'} of {row.url}"
            else:
                detail = f"{digest or 'hash'} of a URL no longer in the HTTP cache"
            out.append(
                self.entry(
                    "hashes",
                    raw[0],
                    Kind.METADATA,
                    [raw],
                    project=row.project if row else None,
                    version=row.version if row else None,
                    filename=row.filename if row else None,
                    url=row.url if row else None,
                    detail=detail[:2000],
                )
            )
        return out

    def _read_hash(self, raw: Raw) -> str | None:
        try:
            fd = _open(self.real(raw[0]))
            try:
                text = os.pread(fd, 300, 0).decode("utf-8").strip()
            finally:
                os.close(fd)
        except (OSError, UnicodeDecodeError):
            return None
        return text if re.fullmatch(r"[a-z0-9]+:[0-9a-f]+", text) else None

    def wheels(self, raws: list[Raw]) -> list[Entry]:
        out: list[Entry] = []
        for raw in raws:
            parts = raw[0].split("/")
            name = parts[-1]
            if len(parts) != 6 or not _wheel_dir_shaped(parts[1:5]):
                out.append(self.stray(raw, "outside pdm's wheel cache layout"))
                continue
            if cache_shape(raw[0]) != "wheel":
                out.append(self.stray(raw, "not a built wheel"))
                continue
            parsed = split_archive(name)
            if parsed is None:
                detail = "bad wheel filename"
                out.append(
                    self.entry("wheels", raw[0], Kind.CORRUPT, [raw], filename=name, detail=detail)
                )
                continue
            out.append(
                self.entry(
                    "wheels",
                    raw[0],
                    Kind.BUILT_WHEEL,
                    [raw],
                    project=parsed[0],
                    version=parsed[1],
                    filename=name,
                )
            )
        return out

    def metadata(self, raws: list[Raw]) -> list[Entry]:
        out: list[Entry] = []
        for raw in raws:
            shape = cache_shape(raw[0])
            if shape == "tmp":
                out.append(self.orphan(raw))
            elif shape == "record":
                detail = "resolved metadata of candidates, for one requires-python"
                out.append(self.entry("metadata", raw[0], Kind.METADATA, [raw], detail=detail))
            else:
                out.append(self.stray(raw, "not a metadata cache file"))
        return out

    def packages(self, raws: list[Raw], links: list[Raw]) -> list[Entry]:
        out: list[Entry] = []
        by_dir: dict[str, list[Raw]] = {}
        link_dirs: dict[str, list[Raw]] = {}
        for raw in raws:
            parts = raw[0].split("/")
            if len(parts) >= 3 and _package_dir(parts[1]):
                by_dir.setdefault(parts[1], []).append(raw)
            else:
                out.append(self.stray(raw, "not an unpacked package"))
        for raw in links:
            link_dirs.setdefault(raw[0].split("/")[1], []).append(raw)
        for name, members in sorted(by_dir.items()):
            key = f"packages/{name}"
            referrers = next((m for m in members if m[0] == f"{key}/.referrers"), None)
            ordered = ([referrers] if referrers else []) + sorted(
                m for m in members if m is not referrers
            )
            ordered += link_dirs.pop(name, [])
            parsed = split_archive(name[: -len(".cache")])
            users = self._referrers(referrers) if referrers else []
            detail = (
                f"{IN_USE} {len(users)} install(s): {', '.join(users[:3])}"
                if users
                else ("unpacked wheel no install refers to")
            )
            out.append(
                self.entry(
                    "packages",
                    key,
                    Kind.ARCHIVE if parsed else Kind.CORRUPT,
                    ordered,
                    project=parsed[0] if parsed else None,
                    version=parsed[1] if parsed else None,
                    filename=name[: -len(".cache")],
                    detail=detail[:2000] if parsed else "not a wheel's name",
                )
            )
        for raws_ in link_dirs.values():
            out.extend(self.stray(r, "symlink") for r in raws_)
        return out

    def _referrers(self, raw: Raw) -> list[str]:
        """The referrers that still exist (``CachedPackage.referrers``), as system paths."""
        try:
            fd = _open(self.real(raw[0]))
            try:
                text = os.pread(fd, 1 << 20, 0).decode("utf-8", errors="replace")
            finally:
                os.close(fd)
        except OSError:
            return []
        alive: list[str] = []
        for line in text.splitlines():
            path = line.strip()
            if path and self.host.lexists(path):
                alive.append(path)
        return alive

    # ------------------------------------------------------------------ all

    def run(self) -> CacheScan:
        early = self.unusable()
        if early is not None:
            return early
        files, others, problems = self.walk()
        areas: dict[str, list[Raw]] = {a: [] for a in CACHE_TYPES}
        entries: list[Entry] = []
        for raw in files:
            area = raw[0].split("/")[0]
            if area in areas and "/" in raw[0]:
                areas[area].append(raw)
            elif area == "self-check" and "/" in raw[0]:
                entries.append(self.entry("self-check", raw[0], Kind.SELFCHECK, [raw]))
            else:
                entries.append(
                    self.stray(raw, "pdm's own, not a cache entry (pdm cache clear keeps it)")
                )
        package_links = [
            (rel, st)
            for rel, st in others
            if stat.S_ISLNK(st.st_mode)
            and rel.startswith("packages/")
            and rel.count("/") >= 2
            and _package_dir(rel.split("/")[1])
        ]
        entries.extend(self.http(areas["http"]))
        entries.extend(self.hashes(areas["hashes"]))
        entries.extend(self.wheels(areas["wheels"]))
        entries.extend(self.metadata(areas["metadata"]))
        entries.extend(self.packages(areas["packages"], package_links))
        for rel, st in others:
            if (rel, st) in package_links:
                continue
            detail = "symlink" if stat.S_ISLNK(st.st_mode) else "special file"
            entries.append(self.stray((rel, st), detail))
        entries.sort(key=lambda e: e.key)
        size = sum(st.st_size for _, st in files)
        physical = sum(st.st_blocks for _, st in files) * 512
        return CacheScan(
            TOOL,
            self.top,
            True,
            tuple(entries),
            len(files),
            size,
            physical,
            tuple(problems + self.problems),
        )


def scan(
    host: Host,
    cache_dir: str,
    *,
    memo: Memo | None = None,
    identify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CacheScan:
    """Every entry of the pdm cache at system path ``cache_dir`` (module doc).

    ``identify=False``: names only (the HTTP database and hash files unread). The memo is
    not used (nothing here is costly to read again); ``progress`` is called once per area."""
    result = _Scanner(host, cache_dir, identify).run()
    if progress:
        progress(len(result.entries))
    return result


def marked(dir_fd: int) -> bool:
    """Whether the directory open at ``dir_fd`` has pdm's ``http/http-cache.db`` (a
    regular file) or ``self-check/`` directory, neither through a symlink."""
    return has_file(dir_fd, f"http/{HTTP_DB}") or has_dir(dir_fd, "self-check")


def trash_parent(parts: Sequence[str]) -> bool:
    """Unpacked packages (the only entry directories) are in ``packages/``."""
    return list(parts) == ["packages"]


def looks_like(host: Host, path: str) -> bool:
    """A pdm cache has ``http/http-cache.db``, ``hashes/`` or ``metadata/``, names neither
    pip nor uv use."""
    top = path.rstrip("/")
    return (
        host.is_file(f"{top}/http/{HTTP_DB}")
        or host.is_dir(f"{top}/hashes")
        or host.is_dir(f"{top}/metadata")
    )


# ---------------------------------------------------------------------- selection rules

_CLEARED = frozenset(
    {
        Kind.BUILT_WHEEL,
        Kind.METADATA,
        Kind.UNKNOWN,
        Kind.CORRUPT,
        Kind.ORPHAN,
        Kind.ARCHIVE,
    }
)


def in_use(entry: Entry) -> bool:
    """An unpacked package some existing install links to (removing it breaks that
    install; pdm never does)."""
    return entry.area == "packages" and (entry.detail or "").startswith(IN_USE)


def purgeable(entry: Entry) -> bool:
    """What ``pdm cache clear`` removes: every file of ``hashes/``, ``http/``, ``wheels/``
    and ``metadata/``, and the packages no install refers to."""
    if entry.kind not in _CLEARED or entry.area not in CACHE_TYPES:
        return False
    return not in_use(entry)


def closure(entries: Sequence[Entry], chosen: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """``pdm cache remove PATTERN`` removes matching files of ``wheels/`` and nothing with
    them: no entry has to follow another."""
    return []


def prune(entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """``pdm cache clear packages`` (packages no install refers to) and leftovers of
    interrupted writes."""
    out: list[tuple[Entry, str]] = []
    for e in entries:
        if e.area == "packages" and e.kind == Kind.ARCHIVE and not in_use(e):
            out.append((e, "no install refers to it"))
        elif e.kind == Kind.ORPHAN and e.area in CACHE_TYPES:
            out.append((e, e.detail or "orphan"))
    return out


def pdm_info(host: Host, result: CacheScan) -> dict[str, Any]:
    """What ``pdm cache info`` counts: per type the files (``rglob('*')``: files and
    symlinks, directories aside; symlinks size 0), and the number of packages."""
    top = result.cache_dir.rstrip("/")
    out: dict[str, Any] = {"cache_root": top, "total_size": 0}
    for area in CACHE_TYPES:
        files = [
            f
            for e in result.entries
            if e.files and e.files[0].path.startswith(f"{top}/{area}/")
            for f in e.files
        ]
        links = {
            f.path
            for e in result.entries
            if e.kind == Kind.STRAY and e.detail == "symlink"
            for f in e.files
        }
        size = sum(f.size for f in files if f.path not in links and not _is_link(host, f))
        out[area] = {
            "location": f"{top}/{area}",
            "files": len(files),
            "size": size,
        }
        if area == "packages":
            out[area]["packages"] = sum(
                1 for e in result.entries if e.area == "packages" and e.key.count("/") == 1
            )
    out["total_size"] = sum(
        f.size for e in result.entries for f in e.files if not _is_link(host, f)
    )
    return out


def _is_link(host: Host, f: FileInfo) -> bool:
    return host.is_symlink(f.path)


def guard(entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """``chosen`` without the unpacked packages an install still links to: removing one
    would break that install (pdm itself never removes them)."""
    return [(e, why) for e, why in chosen if not in_use(e)]


def listed_rows(host: Host, cache_dir: str) -> list[Entry]:
    """The responses inside pdm's HTTP database as entries for ``list`` only: no files of
    their own (they live in ``http/http-cache.db``, removable only with it, as ``pdm cache
    clear http`` does), so no plan ever holds them. Soft-deleted rows are left out."""
    try:
        rows = http_rows(host, cache_dir)
    except ValueError:
        return []
    top = cache_dir.rstrip("/")
    return [
        Entry(
            TOOL,
            top,
            "http",
            f"http/{HTTP_DB}#{row.url}",
            row.kind,
            (),
            project=row.project,
            version=row.version,
            filename=row.filename,
            url=row.url,
            content_type=row.content_type,
            detail=f"{row.size} bytes inside http/{HTTP_DB} (goes only with it)",
        )
        for row in rows
        if not row.deleted
    ]


class PdmFormat(CacheFormat):
    """pdm's cache format: this module's functions, checked against the contract."""

    TOOL = TOOL
    LOCK = LOCK
    MARKER = MARKER
    looks_like = staticmethod(looks_like)
    scan = staticmethod(scan)
    cache_shape = staticmethod(cache_shape)
    purgeable = staticmethod(purgeable)
    closure = staticmethod(closure)
    prune = staticmethod(prune)
    marked = staticmethod(marked)
    trash_parent = staticmethod(trash_parent)
    guard = staticmethod(guard)
    listed_rows = staticmethod(listed_rows)


#: The one instance :func:`cachecensus.caches.format_for` returns for pdm.
FORMAT = PdmFormat()
