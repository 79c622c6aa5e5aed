"""pip's cache on disk, entry by entry.

Layout (pip 23.3+ writes ``http-v2``; older pips wrote ``http``; both may coexist):

- ``http-v2/a/b/c/d/e/<sha224(url)>``: a cachecontrol record, ``cc=4,`` + msgpack of the
  response (headers, status; empty body), and ``<sha224>.body`` beside it: the body.
- ``http/a/b/c/d/e/<sha224(url)>``: the record alone, with the body inside it.
- ``wheels/xx/yy/zz/<50 hex>/NAME-VER-TAGS.whl`` + ``origin.json``: wheels pip built.
- ``selfcheck/``: pip's version-check state.
- leftovers: ``<name>XXXXXXXX.tmp`` files of an interrupted write, records without bodies,
  bodies without records (``ORPHAN``); anything else is a ``STRAY`` (never deleted).

The walk never follows a symlink (a symlink is reported as a stray and not counted), counts
every regular file like ``du -sb`` does (apparent sizes, directories aside), and reports an
unreadable directory as a problem and goes on.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from email.utils import parsedate_to_datetime
from typing import Any

import msgpack

from cachecensus import identify as ident
from cachecensus.host import Host
from cachecensus.memo import Memo
from cachecensus.models import CacheScan, Entry, FileInfo, Kind, Problem

HTTP_AREAS = ("http-v2", "http")
_HASH = re.compile(r"^[0-9a-f]{56}$")
_TMP = re.compile(r"^[0-9a-f]{56}(\.body)?.{1,16}\.tmp$")
_WHEEL_DIRS = (2, 2, 2, 50)
RECORD_LIMIT = 1 << 20  # a v2 record is headers only; legacy http/ records hold the body
LEGACY_LIMIT = 256 << 20

Raw = tuple[str, os.stat_result]  # (system path, lstat)


def _info(path: str, st: os.stat_result) -> FileInfo:
    return FileInfo(
        path=path,
        size=st.st_size,
        physical=st.st_blocks * 512,
        inode=st.st_ino,
        dev=st.st_dev,
        nlink=st.st_nlink,
        uid=st.st_uid,
        mtime_ns=st.st_mtime_ns,
        atime_ns=st.st_atime_ns,
    )


def _key(st: os.stat_result) -> tuple[int, int, int]:
    return (st.st_size, st.st_mtime_ns, st.st_ino)


def _walk(
    host: Host, cache_dir: str
) -> tuple[list[tuple[str, os.stat_result]], list[tuple[str, os.stat_result]], list[Problem]]:
    """(regular files, other non-dirs) as (path relative to the cache, lstat); never follows
    a symlink."""
    real_top = host.real(cache_dir)
    files: list[tuple[str, os.stat_result]] = []
    others: list[tuple[str, os.stat_result]] = []
    problems: list[Problem] = []
    stack = [""]
    while stack:
        rel = stack.pop()
        real = os.path.join(real_top, rel) if rel else real_top
        try:
            with os.scandir(real) as it:
                for entry in it:
                    child = f"{rel}/{entry.name}" if rel else entry.name
                    try:
                        # d_type answers is_dir() without a syscall: only files are stat'ed
                        if entry.is_dir(follow_symlinks=False):
                            stack.append(child)
                            continue
                        st = entry.stat(follow_symlinks=False)
                    except OSError as exc:
                        problems.append(Problem(f"{cache_dir}/{child}", exc.strerror or str(exc)))
                        continue
                    if stat.S_ISREG(st.st_mode):
                        files.append((child, st))
                    elif stat.S_ISDIR(st.st_mode):  # d_type unknown on this filesystem
                        stack.append(child)
                    else:
                        others.append((child, st))
        except OSError as exc:
            problems.append(Problem(f"{cache_dir}/{rel}".rstrip("/"), exc.strerror or str(exc)))
    return files, others, problems


def _is_hash_rel(parts: list[str]) -> bool:
    """``AREA/a/b/c/d/e/NAME``: five one-hex-char dirs, as SafeFileCache lays them out."""
    return len(parts) == 7 and all(len(p) == 1 and p in "0123456789abcdef" for p in parts[1:6])


def parse_record(data: bytes) -> dict[str, Any]:
    """A cachecontrol record (``cc=4,`` + msgpack); raises ValueError if it is not one."""
    if not data.startswith(b"cc=4,"):
        head = data[:8]
        raise ValueError(f"not a cachecontrol v4 record (starts {head!r})")
    try:
        doc = msgpack.unpackb(data[5:], raw=False, strict_map_key=False)
    except Exception as exc:  # msgpack raises many types on garbage
        raise ValueError(f"unreadable msgpack: {type(exc).__name__}") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("response"), dict):
        raise ValueError("record without a response")
    response: dict[str, Any] = doc["response"]
    return response


def _header(response: dict[str, Any], name: str) -> str | None:
    headers = response.get("headers")
    if not isinstance(headers, dict):
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value if isinstance(value, str) else None
    return None


def _iso_date(value: str | None) -> str | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value).isoformat()
    except (TypeError, ValueError, IndexError):
        return None


class _Scanner:
    def __init__(
        self,
        host: Host,
        cache_dir: str,
        memo: Memo | None,
        identify: bool,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.host = host
        self.top = cache_dir.rstrip("/") or "/"
        self.real_top = host.real(self.top)
        self.identify = identify
        self.memo = memo
        # memo keys are real paths: a --root image's /root/.cache never meets this host's
        self.known = memo.get_many(self.real_top) if (memo and identify) else {}
        self.fresh: list[tuple[str, tuple[int, int, int], dict[str, str | None]]] = []
        self.progress = progress
        self.identified = 0  # bodies actually read this scan (memo misses)

    def path(self, rel: str) -> str:
        return f"{self.top}/{rel}" if self.top != "/" else f"/{rel}"

    def entry(self, area: str, key: str, kind: Kind, raws: list[Raw], **kw: Any) -> Entry:
        return Entry(
            tool="pip",
            cache_dir=self.top,
            area=area,
            key=key,
            kind=kind,
            files=tuple(_info(self.path(rel), st) for rel, st in raws),
            **kw,
        )

    # ------------------------------------------------------------------ http entries

    def http_entry(
        self, area: str, name: str, record: Raw | None, body: Raw | None, tmp: bool
    ) -> Entry:
        raws = [r for r in (record, body) if r is not None]
        key = (record or body)[0] if (record or body) else name  # type: ignore[index]
        if tmp:
            return self.entry(
                area, key, Kind.ORPHAN, raws, detail="temporary file of an interrupted write"
            )
        if area == "http-v2" and (record is None or body is None):
            what = "body without record" if record is None else "record without body"
            return self.entry(area, key, Kind.ORPHAN, raws, detail=what)
        if not self.identify:
            return self.entry(area, key, Kind.UNKNOWN, raws, detail="not identified")
        memo_file = body if body is not None else record
        assert memo_file is not None
        memo_path = os.path.join(self.real_top, memo_file[0])
        found = self.known.get(memo_path)
        if found is not None and found[0] == _key(memo_file[1]):
            values = found[1]
        else:
            values = self._identify_http(area, record, body)
            self.fresh.append((memo_path, _key(memo_file[1]), values))
        return self.entry(
            area,
            key,
            Kind(values["kind"] or "unknown"),
            raws,
            project=values.get("project"),
            version=values.get("version"),
            filename=values.get("filename"),
            content_type=values.get("content_type"),
            detail=values.get("detail"),
            date=values.get("date"),
            url=values.get("url"),
            sha256=values.get("sha256"),
        )

    def _identify_http(
        self, area: str, record: Raw | None, body: Raw | None
    ) -> dict[str, str | None]:
        self.identified += 1
        assert record is not None
        limit = LEGACY_LIMIT if area == "http" else RECORD_LIMIT
        try:
            with open(os.path.join(self.real_top, record[0]), "rb") as fh:
                response = parse_record(fh.read(limit + 1))
        except (OSError, ValueError) as exc:
            return {"kind": Kind.CORRUPT.value, "detail": f"record: {exc}"[:300]}
        ctype = _header(response, "Content-Type")
        date = _iso_date(_header(response, "Date"))
        try:
            if area == "http":
                data = response.get("body")
                if not isinstance(data, bytes):
                    return {
                        "kind": Kind.CORRUPT.value,
                        "detail": "legacy record without body",
                        "content_type": ctype,
                        "date": date,
                    }
                found = ident.identify_body(io.BytesIO(data), len(data), ctype)
            else:
                assert body is not None
                with open(os.path.join(self.real_top, body[0]), "rb") as fh:
                    found = ident.identify_body(fh, body[1].st_size, ctype)
        except OSError as exc:
            return {
                "kind": Kind.CORRUPT.value,
                "detail": f"body: {exc}"[:300],
                "content_type": ctype,
                "date": date,
            }
        return {
            "kind": found.kind.value,
            "project": found.project,
            "version": found.version,
            "filename": found.filename,
            "detail": found.detail,
            "content_type": ctype,
            "date": date,
        }

    # ------------------------------------------------------------------ wheels/

    def wheel_entries(self, raws: list[Raw]) -> list[Entry]:
        by_dir: dict[str, list[Raw]] = {}
        for raw in raws:
            by_dir.setdefault(raw[0].rsplit("/", 1)[0], []).append(raw)
        out: list[Entry] = []
        for folder, members in sorted(by_dir.items()):
            parts = folder.split("/")[1:]
            shaped = len(parts) == 4 and all(
                len(p) == n and all(c in "0123456789abcdef" for c in p)
                for p, n in zip(parts, _WHEEL_DIRS, strict=True)
            )
            origin = next((m for m in members if m[0].endswith("/origin.json")), None)
            wheels = [m for m in members if m[0].endswith(".whl")]
            for raw in members:
                if raw is origin or raw in wheels:
                    continue
                out.append(
                    self.entry(
                        "wheels",
                        raw[0],
                        Kind.STRAY,
                        [raw],
                        detail="not a built wheel or origin.json",
                    )
                )
            if not shaped:
                for raw in [*wheels, *([origin] if origin else [])]:
                    out.append(
                        self.entry(
                            "wheels",
                            raw[0],
                            Kind.STRAY,
                            [raw],
                            detail="outside pip's wheel cache layout",
                        )
                    )
                continue
            url = self._origin_url(origin) if origin else None
            for index, whl in enumerate(wheels):
                files = [whl] + ([origin] if origin and index == 0 else [])
                out.append(self._built_wheel(whl, files, url))
            if origin and not wheels:
                out.append(
                    self.entry(
                        "wheels",
                        origin[0],
                        Kind.ORPHAN,
                        [origin],
                        detail="origin.json without a wheel",
                    )
                )
        return out

    def _origin_url(self, origin: Raw) -> str | None:
        try:
            with open(os.path.join(self.real_top, origin[0]), "rb") as fh:
                doc = json.loads(fh.read(1 << 20))
        except (OSError, ValueError):
            return None
        url = doc.get("url") if isinstance(doc, dict) else None
        return url if isinstance(url, str) else None

    def _built_wheel(self, whl: Raw, files: list[Raw], url: str | None) -> Entry:
        from packaging.utils import InvalidWheelFilename, parse_wheel_filename

        filename = whl[0].rsplit("/", 1)[1]
        try:
            name, version, _, _ = parse_wheel_filename(filename)
        except (InvalidWheelFilename, ValueError) as exc:
            return self.entry(
                "wheels",
                whl[0],
                Kind.CORRUPT,
                files,
                filename=filename,
                detail=f"bad wheel filename: {exc}"[:300],
                url=url,
            )
        return self.entry(
            "wheels",
            whl[0],
            Kind.BUILT_WHEEL,
            files,
            project=str(name),
            version=str(version),
            filename=filename,
            url=url,
        )

    # ------------------------------------------------------------------ all

    def run(self) -> CacheScan:
        if not self.host.is_dir(self.top) or self.host.is_symlink(self.top):
            return CacheScan("pip", self.top, False, (), 0, 0, 0)
        files, others, problems = _walk(self.host, self.top)
        entries: list[Entry] = []
        http: dict[tuple[str, str], dict[str, Raw]] = {}
        wheels: list[Raw] = []
        for rel, st in files:
            parts = rel.split("/")
            area = parts[0]
            if area in HTTP_AREAS and _is_hash_rel(parts):
                name = parts[-1]
                if _TMP.match(name):
                    entries.append(self.http_entry(area, name, (rel, st), None, True))
                elif area == "http-v2" and name.endswith(".body") and _HASH.match(name[:-5]):
                    http.setdefault((area, rel[:-5]), {})["body"] = (rel, st)
                elif _HASH.match(name):
                    http.setdefault((area, rel), {})["record"] = (rel, st)
                else:
                    entries.append(
                        self.entry(
                            area, rel, Kind.STRAY, [(rel, st)], detail="not a cache file name"
                        )
                    )
            elif area == "wheels" and len(parts) > 1:
                wheels.append((rel, st))
            elif area == "selfcheck" and len(parts) > 1:
                entries.append(self.entry(area, rel, Kind.SELFCHECK, [(rel, st)]))
            else:
                entries.append(
                    self.entry(
                        "", rel, Kind.STRAY, [(rel, st)], detail="not part of pip's cache layout"
                    )
                )
        for (area, _), pair in sorted(http.items()):
            record, body = pair.get("record"), pair.get("body")
            entries.append(self.http_entry(area, "", record, body, False))
            if self.progress:
                self.progress(1)
        entries.extend(self.wheel_entries(wheels))
        for rel, st in others:  # symlinks, fifos...: reported, never followed nor counted
            kind = "symlink" if stat.S_ISLNK(st.st_mode) else "special file"
            entries.append(
                replace(self.entry(rel.split("/")[0], rel, Kind.STRAY, [(rel, st)]), detail=kind)
            )
        if self.memo is not None and self.fresh:
            self.memo.put_many(self.fresh)
        entries.sort(key=lambda e: e.key)
        return CacheScan(
            tool="pip",
            cache_dir=self.top,
            exists=True,
            entries=tuple(entries),
            files=len(files),
            size=sum(st.st_size for _, st in files),
            physical=sum(st.st_blocks * 512 for _, st in files),
            problems=tuple(problems),
        )


def scan(
    host: Host,
    cache_dir: str,
    *,
    memo: Memo | None = None,
    identify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CacheScan:
    """Every entry of the pip cache at system path ``cache_dir`` (see module doc)."""
    return _Scanner(host, cache_dir, memo, identify, progress).run()


def sha256_of(host: Host, entry: Entry) -> str | None:
    """Content hash of an entry's artifact (its ``.body``, or a built wheel); None if none."""
    if entry.sha256:
        return entry.sha256
    if entry.area == "http":  # the body lives inside the record
        try:
            with open(host.real(entry.files[0].path), "rb") as fh:
                data = parse_record(fh.read(LEGACY_LIMIT + 1)).get("body")
        except (OSError, ValueError):
            return None
        return ident.sha256_of(io.BytesIO(data)) if isinstance(data, bytes) else None
    target = entry.files[-1] if entry.area == "http-v2" else entry.files[0]
    try:
        with open(host.real(target.path), "rb") as fh:
            return ident.sha256_of(fh)
    except OSError:
        return None


def pip_info(result: CacheScan) -> dict[str, Any]:
    """What ``pip cache info`` reports (pip's own counting) beside the true entry counts."""
    top = result.cache_dir
    http_files = [f for e in result.entries if e.area in HTTP_AREAS for f in e.files]
    wheel_files = [f for e in result.entries if e.area == "wheels" for f in e.files]
    built = [e for e in result.entries if e.kind == Kind.BUILT_WHEEL]
    http_entries = [e for e in result.entries if e.area in HTTP_AREAS and e.kind != Kind.STRAY]
    return {
        "http_cache_location": f"{top}/http-v2",
        "old_http_cache_location": f"{top}/http",
        "http_cache_size": sum(f.size for f in http_files),
        "http_files": len(http_files),  # pip counts a v2 record and its .body as two
        "http_entries": len(http_entries),  # what there really is
        "wheels_cache_location": f"{top}/wheels",
        "wheels_cache_size": sum(f.size for f in wheel_files),
        "built_wheels": len(built),
    }


def is_cache_shaped(rel: str) -> bool:
    """Whether ``rel`` (relative to a pip cache dir) is a path pip itself writes entries at:
    the only files removal may ever touch."""
    parts = rel.split("/")
    if parts[0] in HTTP_AREAS and _is_hash_rel(parts):
        name = parts[-1]
        if _TMP.match(name) or _HASH.match(name):
            return True
        return parts[0] == "http-v2" and name.endswith(".body") and bool(_HASH.match(name[:-5]))
    if parts[0] == "wheels" and len(parts) == 6:
        hexed = all(
            len(p) == n and all(c in "0123456789abcdef" for c in p)
            for p, n in zip(parts[1:5], _WHEEL_DIRS, strict=True)
        )
        return hexed and (parts[5] == "origin.json" or parts[5].endswith(".whl"))
    return False
