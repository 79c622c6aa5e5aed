"""poetry's cache on disk, entry by entry (poetry 2.x; ``cache-dir``, see
:mod:`cachecensus.resolve.poetry`).

Layout, as poetry 2.5 writes it:

- ``artifacts/xx/yy/zz/<58 hex>/<filename>`` (``ArtifactCache``: the directory is the
  sha256 of ``{"url": ..., "sha256": ...}`` of the link): downloaded wheels and sdists under
  their own names, and the wheel poetry built from an sdist *beside* that sdist (``Chef``
  builds into the link's directory); a directory built from a git checkout carries a
  ``.created_from_git_dependency`` marker. Downloads go through ``requests``'
  ``atomic_open`` (``tmpXXXXXXXX`` beside the file until renamed).
- ``cache/repositories/<repo>/`` (``CachedRepository``): the release metadata of each
  ``name:version`` poetry looked at, a ``FileCache`` record at
  ``aa/bb/cc/dd/ee/ff/gg/hh/<sha256("name:version")>``: ten digits of expiry then JSON
  (``name``, ``version``, ``files``...). ``poetry cache clear <repo>:<name>:<version>``
  removes exactly that file; ``poetry cache clear <repo> --all`` the whole directory.
- ``cache/repositories/<repo>/_http_/a/b/c/d/e/<sha224(url)>`` + ``.body`` (cachecontrol's
  ``SeparateBodyFileCache``, poetry >= 2.4; pip's ``http-v2`` format) and
  ``<sha224>.lock`` / ``.body.lock`` (filelock, left behind); ``_http/`` is the same with
  the body inside the record (``FileCache``, poetry < 2.4; pip's legacy ``http`` format).
- ``virtualenvs/``: poetry's environments (``virtualenvs.path`` defaults into the cache
  dir): never cache entries, never removed.

Anything else, and every symlink, is a ``STRAY``. Walks use ``lstat`` only (pip's walk).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import time
from collections.abc import Callable, Sequence
from typing import Any

from cachecensus.caches.base import CacheFormat, ScannerBase
from cachecensus.caches.pip import HttpItem, _open, identify_http
from cachecensus.host import Host
from cachecensus.memo import Memo
from cachecensus.models import CacheScan, Entry, Kind

TOOL = "poetry"
LOCK: str | None = None

ARTIFACTS = "artifacts"
REPOSITORIES = "cache/repositories"
#: ``ArtifactCache._get_cached_archives``' archive types, in its order.
ARCHIVE_SUFFIXES = (".whl", ".tar.gz", ".tar.bz2", ".bz2", ".zip")
GIT_MARKER = ".created_from_git_dependency"
_HEX = frozenset("0123456789abcdef")
_ARTIFACT_DIRS = (2, 2, 2, 58)
_TMP = re.compile(r"^tmp[a-z0-9_]{8}$")  # tempfile.mkstemp(dir=...): requests, cachecontrol
#: Bytes of a release-metadata record read to identify it.
RECORD_LIMIT = 4 << 20

Raw = tuple[str, os.stat_result]


def _hex(text: str, length: int) -> bool:
    return len(text) == length and all(c in _HEX for c in text)


def _repo_name(name: str) -> bool:
    return bool(name) and name not in (".", "..") and not name.startswith(".")


# ---------------------------------------------------------------------- shapes


def _artifact_dir(parts: Sequence[str]) -> bool:
    return len(parts) == 4 and all(_hex(p, n) for p, n in zip(parts, _ARTIFACT_DIRS, strict=True))


def _is_archive(name: str) -> bool:
    return not name.startswith(".") and "-" in name and name.endswith(ARCHIVE_SUFFIXES)


def _release_shaped(parts: Sequence[str]) -> bool:
    """``aa/bb/cc/dd/ee/ff/gg/hh/<64 hex>`` with the dirs the hash's first 16 digits."""
    if len(parts) != 9 or not _hex(parts[8], 64):
        return False
    return "".join(parts[:8]) == parts[8][:16]


def http_shape(parts: Sequence[str]) -> tuple[str, str] | None:
    """(hash, role) of ``a/b/c/d/e/NAME`` inside an ``_http_``/``_http`` dir; role is
    ``record``, ``body``, ``lock`` or ``tmp``; None when cachecontrol writes no such name."""
    if len(parts) != 6 or not all(_hex(p, 1) for p in parts[:5]):
        return None
    name = parts[5]
    prefix = "".join(parts[:5])
    if _TMP.match(name):
        return "", "tmp"
    digest = name[:56]
    if not _hex(digest, 56) or not digest.startswith(prefix):
        return None
    rest = name[56:]
    role = {"": "record", ".body": "body", ".lock": "lock", ".body.lock": "lock"}.get(rest)
    return (digest, role) if role else None


def cache_shape(rel: str) -> str | None:
    """The role of ``rel`` (relative to a poetry cache dir) if poetry writes files there:
    ``wheel``/``record`` (an archive, a release-metadata or HTTP record), ``tmp`` (an
    interrupted write, a filelock file), ``body`` (an HTTP body), ``origin`` (the git
    marker); None for anything else (``virtualenvs/`` included)."""
    parts = rel.split("/")
    if parts[0] == ARTIFACTS:
        if len(parts) != 6 or not _artifact_dir(parts[1:5]):
            return None
        name = parts[5]
        if name == GIT_MARKER:
            return "origin"
        if _TMP.match(name):
            return "tmp"
        if _is_archive(name):
            return "wheel" if name.endswith(".whl") else "record"
        return None
    if parts[:2] != ["cache", "repositories"] or len(parts) < 4 or not _repo_name(parts[2]):
        return None
    rest = parts[3:]
    if rest[0] in ("_http_", "_http"):
        shape = http_shape(rest[1:])
        if shape is None or (rest[0] == "_http" and shape[1] == "body"):
            return None
        return "tmp" if shape[1] == "lock" else shape[1]
    return "record" if _release_shaped(rest) else None


# ---------------------------------------------------------------------- names


def split_archive(filename: str) -> tuple[str, str, Kind] | None:
    """(normalised project, normalised version, WHEEL|SDIST) from an archive's filename,
    as ``packaging.utils`` reads it; None when the name is not a valid distribution name."""
    from packaging.utils import (
        InvalidSdistFilename,
        InvalidWheelFilename,
        canonicalize_name,
        parse_sdist_filename,
        parse_wheel_filename,
    )
    from packaging.version import InvalidVersion, Version

    try:
        if filename.endswith(".whl"):
            name, version, _, _ = parse_wheel_filename(filename)
            return str(name), str(version), Kind.WHEEL
        if filename.endswith((".tar.gz", ".zip")):
            name, version = parse_sdist_filename(filename)
            return str(name), str(version), Kind.SDIST
        stem = re.sub(r"\.(tar\.bz2|bz2)$", "", filename)
        project, sep, text = stem.rpartition("-")
        if not sep or not project:
            return None
        return str(canonicalize_name(project)), str(Version(text)), Kind.SDIST
    except (InvalidWheelFilename, InvalidSdistFilename, InvalidVersion, ValueError):
        return None


def release_key(project: str, version: str) -> str:
    """The file name poetry's ``FileCache`` gives ``name:version`` (sha256 of the key)."""
    return hashlib.sha256(f"{project}:{version}".encode()).hexdigest()


def parse_release(data: bytes) -> tuple[int, dict[str, Any]]:
    """(expiry, JSON document) of a ``FileCache`` record; raises ValueError."""
    text = data.decode("utf-8")
    if len(text) < 10 or not text[:10].isdigit():
        raise ValueError("no ten-digit expiry")
    doc = json.loads(text[10:])
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    return int(text[:10]), doc


# ---------------------------------------------------------------------- the scanner


class _Scanner(ScannerBase):
    tool = TOOL

    def __init__(
        self,
        host: Host,
        cache_dir: str,
        memo: Memo | None,
        identify: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        super().__init__(host, cache_dir)
        self.memo = memo
        self.identify = identify
        self.progress = progress
        self.now = time.time()

    def stray(self, raw: Raw, detail: str, area: str = "") -> Entry:
        return self.entry(area, raw[0], Kind.STRAY, [raw], detail=detail)

    # ------------------------------------------------------------------ artifacts/

    def artifacts(self, raws: list[Raw]) -> list[Entry]:
        out: list[Entry] = []
        by_dir: dict[str, list[Raw]] = {}
        for raw in raws:
            parts = raw[0].split("/")
            if len(parts) != 6 or not _artifact_dir(parts[1:5]):
                out.append(self.stray(raw, "outside poetry's artifact layout", ARTIFACTS))
                continue
            by_dir.setdefault("/".join(parts[:5]), []).append(raw)
        for _, members in sorted(by_dir.items()):
            marker = next((m for m in members if m[0].endswith("/" + GIT_MARKER)), None)
            archives = sorted(m for m in members if _is_archive(m[0].rsplit("/", 1)[1]))
            sdist_here = any(not m[0].endswith(".whl") for m in archives)
            for raw in members:
                name = raw[0].rsplit("/", 1)[1]
                if raw is marker or raw in archives:
                    continue
                if _TMP.match(name):
                    detail = "temporary file of an interrupted download"
                    out.append(self.entry(ARTIFACTS, raw[0], Kind.ORPHAN, [raw], detail=detail))
                else:
                    out.append(self.stray(raw, "not an archive poetry caches", ARTIFACTS))
            for index, raw in enumerate(archives):
                files = [raw] + ([marker] if marker is not None and index == 0 else [])
                out.append(self._artifact(raw, files, built=sdist_here or marker is not None))
            if marker is not None and not archives:
                detail = "git build marker without an archive"
                out.append(self.entry(ARTIFACTS, marker[0], Kind.ORPHAN, [marker], detail=detail))
        return out

    def _artifact(self, raw: Raw, files: list[Raw], built: bool) -> Entry:
        filename = raw[0].rsplit("/", 1)[1]
        parsed = split_archive(filename)
        if parsed is None:
            return self.entry(
                ARTIFACTS,
                raw[0],
                Kind.CORRUPT,
                files,
                filename=filename,
                detail="not a valid wheel or sdist file name",
            )
        project, version, kind = parsed
        detail = None
        if kind == Kind.WHEEL and built:
            kind = Kind.BUILT_WHEEL
            detail = "built by poetry from the sdist or git checkout beside it"
        return self.entry(
            ARTIFACTS,
            raw[0],
            kind,
            files,
            project=project,
            version=version,
            filename=filename,
            detail=detail,
        )

    # ------------------------------------------------------------------ repositories

    def repository(self, repo: str, raws: list[Raw]) -> list[Entry]:
        area = f"{REPOSITORIES}/{repo}"
        out: list[Entry] = []
        http: dict[str, list[Raw]] = {}
        for raw in raws:
            rest = raw[0].split("/")[3:]
            if rest[0] in ("_http_", "_http") and len(rest) > 1:
                http.setdefault(rest[0], []).append(raw)
            elif _release_shaped(rest):
                out.append(self._release(area, raw))
            else:
                out.append(self.stray(raw, "not part of poetry's repository cache", area))
        for sub, members in sorted(http.items()):
            out.extend(self._http(f"{area}/{sub}", sub, members))
        return out

    def _release(self, area: str, raw: Raw) -> Entry:
        filename = raw[0].rsplit("/", 1)[1]
        if not self.identify:
            return self.entry(area, raw[0], Kind.METADATA, [raw], detail="not identified")
        try:
            fd = _open(self.real(raw[0]))
            try:
                data = os.pread(fd, RECORD_LIMIT, 0)
            finally:
                os.close(fd)
            expires, doc = parse_release(data)
        except (OSError, ValueError, RecursionError) as exc:
            detail = f"unreadable release record: {exc}"[:300]
            return self.entry(area, raw[0], Kind.CORRUPT, [raw], detail=detail)
        from packaging.utils import canonicalize_name

        name, version = doc.get("name"), doc.get("version")
        if not isinstance(name, str) or not isinstance(version, str):
            detail = "release record without a name and version"
            return self.entry(area, raw[0], Kind.CORRUPT, [raw], detail=detail)
        project = str(canonicalize_name(name))
        notes = []
        if release_key(project, version) != filename:
            notes.append("its key is not name:version (stored by another poetry?)")
        if expires < self.now:
            notes.append("expired: poetry deletes it on next use")
        return self.entry(
            area,
            raw[0],
            Kind.METADATA,
            [raw],
            project=project,
            version=version,
            detail="; ".join(notes) or f"release metadata of {project} {version}",
        )

    def _http(self, area: str, sub: str, raws: list[Raw]) -> list[Entry]:
        out: list[Entry] = []
        groups: dict[str, dict[str, list[Raw]]] = {}
        for raw in raws:
            parts = raw[0].split("/")
            shape = http_shape(parts[4:])
            if shape is None or (sub == "_http" and shape[1] == "body"):
                out.append(self.stray(raw, "not a cache file name", area))
            elif shape[1] == "tmp":
                detail = "temporary file of an interrupted write"
                out.append(self.entry(area, raw[0], Kind.ORPHAN, [raw], detail=detail))
            else:
                groups.setdefault(shape[0], {}).setdefault(shape[1], []).append(raw)
        pending: list[HttpItem] = []
        for _, roles in sorted(groups.items()):
            record = roles.get("record", [None])[0]
            body = roles.get("body", [None])[0]
            locks = sorted(roles.get("lock", []))
            if record is None or (sub == "_http_" and body is None):
                what = "body without record" if record is None else "record without body"
                if record is None and body is None:
                    what = "lock file of an entry that is gone"
                raws_ = [r for r in (record, body) if r is not None] + locks
                out.append(self.entry(area, raws_[0][0], Kind.ORPHAN, raws_, detail=what))
                continue
            files = [record, *locks] + ([body] if body is not None else [])
            if not self.identify:
                detail = "not identified"
                out.append(self.entry(area, record[0], Kind.UNKNOWN, files, detail=detail))
                continue
            pending.append((area, "http-v2" if sub == "_http_" else "http", record, body, files))
        out += identify_http(self, pending, self.memo, None, self.progress)
        return out

    # ------------------------------------------------------------------ all

    def run(self) -> CacheScan:
        early = self.unusable()
        if early is not None:
            return early
        files, others, problems = self.walk()
        entries: list[Entry] = []
        artifacts: list[Raw] = []
        repos: dict[str, list[Raw]] = {}
        venvs: dict[str, list[Raw]] = {}
        for raw in files:
            parts = raw[0].split("/")
            if parts[0] == ARTIFACTS and len(parts) > 1:
                artifacts.append(raw)
            elif parts[:2] == ["cache", "repositories"] and len(parts) > 3:
                repos.setdefault(parts[2], []).append(raw)
            elif parts[0] == "virtualenvs" and len(parts) > 1:
                venvs.setdefault("/".join(parts[:2]), []).append(raw)
            else:
                entries.append(self.stray(raw, "not part of poetry's cache layout"))
        entries.extend(self.artifacts(artifacts))
        for repo, raws in sorted(repos.items()):
            if _repo_name(repo):
                entries.extend(self.repository(repo, raws))
            else:
                area = f"{REPOSITORIES}/{repo}"
                entries.extend(self.stray(r, "not a repository cache", area) for r in raws)
        for key, raws in sorted(venvs.items()):
            detail = "poetry's virtualenvs (environments, not cache entries)"
            entries.append(self.entry("virtualenvs", key, Kind.STRAY, raws, detail=detail))
        for rel, st in others:
            detail = "symlink" if stat.S_ISLNK(st.st_mode) else "special file"
            entries.append(self.stray((rel, st), detail, _area_of(rel)))
        entries.sort(key=lambda e: e.key)
        size = sum(st.st_size for _, st in files)
        physical = sum(st.st_blocks for _, st in files) * 512
        return CacheScan(
            TOOL, self.top, True, tuple(entries), len(files), size, physical, tuple(problems)
        )


def _area_of(rel: str) -> str:
    parts = rel.split("/")
    if parts[0] == ARTIFACTS:
        return ARTIFACTS
    if parts[:2] == ["cache", "repositories"] and len(parts) > 3:
        area = f"{REPOSITORIES}/{parts[2]}"
        return f"{area}/{parts[3]}" if parts[3] in ("_http_", "_http") and len(parts) > 4 else area
    return parts[0] if len(parts) > 1 else ""


def scan(
    host: Host,
    cache_dir: str,
    *,
    memo: Memo | None = None,
    identify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CacheScan:
    """Every entry of the poetry cache at system path ``cache_dir`` (module doc).

    ``identify=False``: names only (release records and HTTP entries unread). ``memo``:
    HTTP identifications are looked up and stored there. ``progress(n)``: n more HTTP
    entries done."""
    return _Scanner(host, cache_dir, memo, identify, progress).run()


def looks_like(host: Host, path: str) -> bool:
    """A poetry cache has ``artifacts/`` or ``cache/repositories/`` (poetry's own names)."""
    top = path.rstrip("/")
    return host.is_dir(f"{top}/{ARTIFACTS}") or host.is_dir(f"{top}/{REPOSITORIES}")


# ---------------------------------------------------------------------- selection rules

_REBUILT = frozenset(
    {
        Kind.WHEEL,
        Kind.SDIST,
        Kind.BUILT_WHEEL,
        Kind.INDEX_PAGE,
        Kind.METADATA,
        Kind.UNKNOWN,
        Kind.CORRUPT,
        Kind.ORPHAN,
    }
)


def _cache_area(entry: Entry) -> bool:
    return entry.area == ARTIFACTS or entry.area.startswith(REPOSITORIES + "/")


def purgeable(entry: Entry) -> bool:
    """What ``poetry cache clear --all`` removes (every repository cache: release metadata
    and HTTP responses) plus ``artifacts/`` (which poetry never clears but downloads and
    builds again on demand); never ``virtualenvs/`` or strays."""
    return entry.kind in _REBUILT and _cache_area(entry)


def closure(entries: Sequence[Entry], chosen: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """What must go with ``chosen`` so poetry really fetches again:

    - the wheels poetry built from a chosen sdist (they sit in its artifact dir, and poetry
      installs from them rather than the sdist);
    - the HTTP-cache copies (``_http_``/``_http``) of a chosen artifact's file, and the
      chosen artifact of a chosen HTTP copy: both hold the same download;
    - the release metadata of a chosen ``name:version`` is what ``poetry cache clear
      <repo>:<name>:<version>`` removes; it is chosen with its project, nothing follows it.
    """
    picked = {(e.cache_dir, e.key) for e in chosen}
    sdist_dirs = {
        (e.cache_dir, e.key.rsplit("/", 1)[0])
        for e in chosen
        if e.area == ARTIFACTS and e.kind == Kind.SDIST
    }
    files = {
        (e.cache_dir, e.filename)
        for e in chosen
        if e.filename and e.kind in (Kind.WHEEL, Kind.SDIST) and _cache_area(e)
    }
    out: list[tuple[Entry, str]] = []
    for e in entries:
        if (e.cache_dir, e.key) in picked or not _cache_area(e):
            continue
        if e.kind == Kind.BUILT_WHEEL and (e.cache_dir, e.key.rsplit("/", 1)[0]) in sdist_dirs:
            out.append((e, "built from a removed sdist"))
        elif e.kind in (Kind.WHEEL, Kind.SDIST) and (e.cache_dir, e.filename) in files:
            out.append((e, f"another cached copy of {e.filename}"))
    return out


def prune(entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """What poetry would throw away itself: expired release metadata (deleted on next use),
    corrupt records (``Corrupt cache file was detected and cleaned up``), and leftovers of
    interrupted writes (orphans)."""
    out: list[tuple[Entry, str]] = []
    for e in entries:
        if not _cache_area(e):
            continue
        if e.kind == Kind.ORPHAN:
            out.append((e, e.detail or "orphan"))
        elif e.kind == Kind.CORRUPT and e.area.startswith(REPOSITORIES + "/"):
            out.append((e, "corrupt: poetry deletes it on next use"))
        elif e.kind == Kind.METADATA and (e.detail or "").startswith("expired"):
            out.append((e, "expired release metadata"))
    return out


def repositories(result: CacheScan) -> list[str]:
    """The repository caches of a scan, as ``poetry cache list`` names them (sorted)."""
    prefix = REPOSITORIES + "/"
    return sorted(
        {e.area[len(prefix) :].split("/")[0] for e in result.entries if e.area.startswith(prefix)}
    )


class PoetryFormat(CacheFormat):
    """poetry's cache format: this module's functions, checked against the contract."""

    TOOL = TOOL
    LOCK = LOCK
    looks_like = staticmethod(looks_like)
    scan = staticmethod(scan)
    cache_shape = staticmethod(cache_shape)
    purgeable = staticmethod(purgeable)
    closure = staticmethod(closure)
    prune = staticmethod(prune)


#: The one instance :func:`cachecensus.caches.format_for` returns for poetry.
FORMAT = PoetryFormat()
