"""A conda package dir (``pkgs_dirs``: ``~/miniconda3/pkgs``, ``~/.conda/pkgs``...) entry by
entry; mamba and micromamba write the same layout.

Layout, as conda's ``core/package_cache_data.py``, ``gateways/repodata/`` and
``gateways/disk/create.py`` write it:

- ``NAME-VERSION-BUILD.conda`` / ``.tar.bz2``: a downloaded package (``PACKAGE``); a
  ``.partial`` suffix is an interrupted download (``ORPHAN``).
- ``NAME-VERSION-BUILD/``: the package extracted (``ARCHIVE``): every file and symlink under
  it, ``info/index.json`` first (conda only sees a dir that has it, so it goes first);
  ``info/repodata_record.json`` says name, version, channel, url and the package's sha256.
  Environments hard-link these files (``os.link``): a file with more than one link is in use.
- ``urls.txt`` (the writability probe) and ``urls`` (``CONTROL``, never removed); ``*.lock``
  (libmamba's dir locks, ``CONTROL``).
- ``cache/<hash>.json`` (a channel's repodata) + ``<hash>.info.json`` (conda's state; libmamba:
  ``.state.json``, ``.solv``): ``INDEX_PAGE`` with the channel url.
- ``.trash/`` (files conda could not delete yet, ``ORPHAN``), ``.logs/`` (``conda clean
  --logfiles``); anything else is a ``STRAY``.

``conda clean`` (``cli/main_clean.py``), mirrored: ``--tarballs`` removes package files
(``.partial`` included) whose link count is 1; ``--packages`` removes every extracted dir
that has an ``info/`` dir and no file with more than one link (its environments hard-link
it: conda decides by link count, and says it does not see symlinked installs);
``--index-cache`` removes ``cache/``; ``--logfiles`` ``.logs/``; ``--all`` all of them. conda
does this only in *writable* package dirs.

conda takes no lock on a package dir (it locks each ``cache/*.info.json`` while it refreshes
that one), so :data:`LOCK` is None.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tarfile
from collections.abc import Callable, Sequence
from typing import Any

from packaging.utils import canonicalize_name

from cachecensus import userfile
from cachecensus.caches.base import CacheFormat, ScannerBase, has_file
from cachecensus.host import Host
from cachecensus.memo import Memo
from cachecensus.models import CacheScan, Entry, Kind, Problem
from cachecensus.userfile import MAX_CONFIG_BYTES

TOOL = "conda"
LOCK: str | None = None
#: conda's ``PACKAGE_CACHE_MAGIC_FILE``: created with every package dir conda (or mamba)
#: writes to; a dir without it conda treats as not writable and never cleans, and
#: nothing is removed from it here either.
MARKER = "urls.txt"

PACKAGE_EXTENSIONS = (".conda", ".tar.bz2")
_PARTIAL = ".partial"
_CACHE_STATE = (".info.json", ".state.json")
#: ``cache_fn_url``: the first 8 hex digits of the md5 of the channel URL, then a suffix.
_CACHE_NAME = re.compile(r"^[0-9a-f]{8}\.")
_TARBALL_MEMBERS = 64  # info/ comes first in a conda-built .tar.bz2; look no further

Raw = tuple[str, os.stat_result]


def _dist_name(name: str) -> bool:
    """``NAME-VERSION-BUILD``: three non-empty dash-separated parts, not hidden."""
    parts = name.rsplit("-", 2)
    return len(parts) == 3 and all(parts) and not name.startswith(".")


def package_stem(filename: str) -> str | None:
    """``six-1.16.0-py_0`` of ``six-1.16.0-py_0.conda`` (or ``.tar.bz2``); None otherwise."""
    for ext in PACKAGE_EXTENSIONS:
        if filename.endswith(ext) and _dist_name(filename[: -len(ext)]):
            return filename[: -len(ext)]
    return None


def split_dist(stem: str) -> tuple[str, str, str]:
    """(name, version, build) of ``NAME-VERSION-BUILD``."""
    name, version, build = stem.rsplit("-", 2)
    return name, version, build


def cache_shape(rel: str) -> str | None:
    """The role of ``rel`` (relative to a package dir) if conda writes it, else None."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return None
    top = parts[0]
    if len(parts) == 1:
        if top.endswith(_PARTIAL) and package_stem(top[: -len(_PARTIAL)]):
            return "tmp"
        return "record" if package_stem(top) else None
    if top == "cache":
        if len(parts) != 2 or not _CACHE_NAME.match(parts[1]) or parts[1].endswith(".lock"):
            return None
        name = parts[1]
        if name.endswith(".json") and not name.endswith(_CACHE_STATE):
            return "record"
        return "body"
    if top == ".trash":
        return "tmp"
    if top == ".logs":
        return "tmp" if len(parts) == 2 else None
    if _dist_name(top):
        if parts[1:] == ["info", "index.json"]:
            return "record"
        return "member"
    return None


def marked(dir_fd: int) -> bool:
    """Whether the directory open at ``dir_fd`` has conda's ``urls.txt`` (a regular file,
    not a symlink)."""
    return has_file(dir_fd, MARKER)


def trash_parent(parts: Sequence[str]) -> bool:
    """Extracted packages (the only entry directories) are at the top of a package dir."""
    return not parts


def looks_like(host: Host, path: str) -> bool:
    """A conda package dir: conda's ``urls.txt`` at its top (:func:`marked`)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(host.real(path), flags)
    except (OSError, ValueError):
        return False
    try:
        return marked(fd)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------- scanning


def _read_json(path: str, limit: int = MAX_CONFIG_BYTES) -> dict[str, Any] | None:
    try:
        doc = json.loads(userfile.read_bytes(path, cap=limit, follow=False))
    except (OSError, ValueError, RecursionError):
        return None
    return doc if isinstance(doc, dict) else None


def _index_in_tarball(path: str) -> dict[str, Any] | None:
    """``info/index.json`` of a ``.tar.bz2``, looked for among its first members."""
    try:
        fd = userfile.open_regular(path, follow=False)
    except OSError:
        return None
    try:
        with os.fdopen(fd, "rb") as raw, tarfile.open(fileobj=raw, mode="r|bz2") as tar:
            for count, member in enumerate(tar):
                if count >= _TARBALL_MEMBERS:
                    return None
                if member.name == "info/index.json" and member.isfile():
                    fh = tar.extractfile(member)
                    if fh is None:
                        return None
                    doc = json.loads(fh.read(1 << 20))
                    return doc if isinstance(doc, dict) else None
    except (OSError, ValueError, tarfile.TarError, EOFError, RecursionError):
        return None
    return None


def _str(doc: dict[str, Any] | None, key: str) -> str | None:
    value = doc.get(key) if doc else None
    return value[:2000] if isinstance(value, str) else None


class _Scanner(ScannerBase):
    tool = TOOL

    def __init__(self, host: Host, cache_dir: str, identify: bool) -> None:
        super().__init__(host, cache_dir)
        self.identify = identify

    def urls(self, problems: list[Problem]) -> dict[str, str]:
        """basename -> url from ``urls.txt`` (later lines win, as conda reads it); a file
        that cannot be read as text is one of the scan's ``problems``."""
        try:
            lines = userfile.read_text(self.real("urls.txt"), follow=False).splitlines()
        except FileNotFoundError:
            return {}
        except OSError as exc:
            problems.append(Problem(self.top + "/urls.txt", exc.strerror or str(exc)))
            return {}
        return {line.strip().rsplit("/", 1)[-1]: line.strip() for line in lines if line.strip()}

    def extracted(self, name: str, raws: list[Raw]) -> Entry:
        info = [r for r in raws if r[0] == f"{name}/info/index.json"]
        rest = sorted(r for r in raws if r[0] != f"{name}/info/index.json")
        ordered = info + rest
        record = (
            _read_json(self.real(f"{name}/info/repodata_record.json")) if self.identify else None
        )
        index = record or (_read_json(self.real(f"{name}/info/index.json")) if info else None)
        if not info:
            return self.entry(
                "", name, Kind.CORRUPT, ordered, detail="extracted package without info/index.json"
            )
        if self.identify and index is None:
            return self.entry("", name, Kind.CORRUPT, ordered, detail="unreadable info/index.json")
        fallback = split_dist(name)
        kind = Kind.ARCHIVE
        return self.entry(
            "",
            name,
            kind,
            ordered,
            project=canonicalize_name(_str(index, "name") or fallback[0]),
            version=_str(index, "version") or fallback[1],
            filename=_str(record, "fn"),
            url=_str(record, "url"),
            detail=_str(record, "channel"),
            sha256=None,
        )

    def package(self, raw: Raw, stem: str, urls: dict[str, str], records: dict[str, Any]) -> Entry:
        filename = raw[0]
        record = records.get(stem)
        doc: dict[str, Any] | None = record
        if doc is None and self.identify and filename.endswith(".tar.bz2"):
            doc = _index_in_tarball(self.real(filename))
        fallback = split_dist(stem)
        sha = None
        if record and _str(record, "fn") == filename and record.get("size") == raw[1].st_size:
            sha = _str(record, "sha256")
        return self.entry(
            "",
            filename,
            Kind.PACKAGE,
            [raw],
            project=canonicalize_name(_str(doc, "name") or fallback[0]),
            version=_str(doc, "version") or fallback[1],
            filename=filename,
            url=urls.get(filename) or _str(record, "url"),
            detail=_str(record, "channel"),
            sha256=sha,
        )

    def cache_entries(self, raws: list[Raw]) -> list[Entry]:
        groups: dict[str, list[Raw]] = {}
        out: list[Entry] = []
        for raw in raws:
            name = raw[0].split("/", 1)[1]
            if "/" in name or cache_shape(raw[0]) is None:
                out.append(self.entry("cache", raw[0], Kind.STRAY, [raw], detail="not conda's"))
                continue
            stem = name.split(".", 1)[0]
            groups.setdefault(stem, []).append(raw)
        for _key, members in sorted(groups.items()):
            main = next((m for m in members if cache_shape(m[0]) == "record"), None)
            others = sorted(m for m in members if m is not main)
            if main is None:
                out.append(
                    self.entry(
                        "cache", members[0][0], Kind.ORPHAN, others, detail="state without repodata"
                    )
                )
                continue
            url = None
            if self.identify:
                for state in others:
                    if state[0].endswith(_CACHE_STATE):
                        url = _str(_read_json(self.real(state[0]), 1 << 20), "url")
                        break
            out.append(
                self.entry(
                    "cache",
                    main[0],
                    Kind.INDEX_PAGE,
                    [main, *others],
                    url=url,
                    content_type="application/json",
                    detail=f"repodata of {url}" if url else "repodata",
                )
            )
        return out

    def run(self) -> CacheScan:
        early = self.unusable("package dir")
        if early is not None:
            return early
        files, others, problems = self.walk()
        entries: list[Entry] = []
        dists: dict[str, list[Raw]] = {}
        cache: list[Raw] = []
        packages: list[tuple[Raw, str]] = []
        for raw in [*files, *others]:
            rel = raw[0]
            top, _, rest = rel.partition("/")
            is_file = stat.S_ISREG(raw[1].st_mode)
            is_link = stat.S_ISLNK(raw[1].st_mode)
            if not rest:
                stem = package_stem(rel)
                if not is_file:
                    detail = "symlink" if is_link else "special file"
                    entries.append(self.entry("", rel, Kind.STRAY, [raw], detail=detail))
                elif rel in ("urls.txt", "urls") or rel.endswith(".lock"):
                    entries.append(self.entry("", rel, Kind.CONTROL, [raw]))
                elif stem:
                    packages.append((raw, stem))
                elif rel.endswith(_PARTIAL) and package_stem(rel[: -len(_PARTIAL)]):
                    entries.append(
                        self.entry("", rel, Kind.ORPHAN, [raw], detail="interrupted download")
                    )
                else:
                    detail = "not part of conda's package dir layout"
                    entries.append(self.entry("", rel, Kind.STRAY, [raw], detail=detail))
            elif top == "cache" and is_file:
                cache.append(raw)
            elif top == ".trash" and (is_file or is_link):
                detail = "left for deletion by conda"
                entries.append(self.entry(".trash", rel, Kind.ORPHAN, [raw], detail=detail))
            elif top == ".logs" and is_file and "/" not in rest:
                entries.append(self.entry(".logs", rel, Kind.UNKNOWN, [raw], detail="log file"))
            elif _dist_name(top) and (is_file or is_link) and self._has_info(top):
                dists.setdefault(top, []).append(raw)
            else:
                detail = "symlink" if is_link else "not part of conda's package dir layout"
                area = top if top in ("cache", ".trash", ".logs") else ""
                entries.append(self.entry(area, rel, Kind.STRAY, [raw], detail=detail))
        records: dict[str, Any] = {}
        extracted = [self.extracted(name, raws) for name, raws in sorted(dists.items())]
        if self.identify:
            for name in dists:
                doc = _read_json(self.real(f"{name}/info/repodata_record.json"))
                if doc:
                    records[name] = doc
        urls = self.urls(problems) if self.identify else {}
        entries.extend(self.package(raw, stem, urls, records) for raw, stem in packages)
        entries.extend(extracted)
        entries.extend(self.cache_entries(cache))
        entries.sort(key=lambda e: e.key)
        size = physical = 0
        for _, st in files:
            size += st.st_size
            physical += st.st_blocks
        return CacheScan(
            TOOL, self.top, True, tuple(entries), len(files), size, physical * 512, tuple(problems)
        )

    def _has_info(self, name: str) -> bool:
        try:
            return stat.S_ISDIR(os.lstat(self.real(f"{name}/info")).st_mode)
        except OSError:
            return False


def scan(
    host: Host,
    cache_dir: str,
    *,
    memo: Memo | None = None,
    identify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CacheScan:
    """Every entry of the conda package dir at system path ``cache_dir`` (module doc).

    ``identify=False``: names only (project/version from file names, no JSON read). The memo
    is not used: what is read is small JSON beside each package. ``progress(n)``: n more
    entries done (reported once, at the end)."""
    del memo  # nothing here is worth memoising
    result = _Scanner(host, cache_dir, identify).run()
    if progress is not None and result.entries:
        progress(len(result.entries))
    return result


# ---------------------------------------------------------------------- conda clean


def _linked(entry: Entry) -> bool:
    """conda's ``_get_size``: a file with more than one link is used by an environment."""
    return any(f.nlink > 1 for f in entry.files)


def purgeable(entry: Entry) -> bool:
    """What ``conda clean --all`` removes (in a writable package dir): unlinked package files
    and ``.partial`` downloads, unlinked extracted packages, ``cache/``, ``.logs/``; and
    ``.trash/``. Never ``urls.txt``/``urls``, locks or strays."""
    if entry.kind in (Kind.PACKAGE, Kind.ARCHIVE):
        return not _linked(entry)
    if entry.kind == Kind.CORRUPT and entry.area == "":
        return not _linked(entry)  # an extracted dir with info/: conda's find_pkgs takes it
    if entry.kind == Kind.ORPHAN:
        return entry.area == ".trash" or not _linked(entry)
    if entry.area in ("cache", ".logs"):
        return entry.kind != Kind.STRAY
    return False


def prune(entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """``conda clean --packages --tarballs``: extracted packages no environment links (by
    link count) and package files (``.partial`` too) with one link."""
    out: list[tuple[Entry, str]] = []
    for e in entries:
        if e.area != "" or _linked(e):
            continue
        if e.kind in (Kind.ARCHIVE, Kind.CORRUPT):
            out.append((e, "extracted package no environment links (conda clean --packages)"))
        elif e.kind == Kind.PACKAGE:
            out.append((e, "package file (conda clean --tarballs)"))
        elif e.kind == Kind.ORPHAN:
            out.append((e, "interrupted download (conda clean --tarballs)"))
    return out


def _stem(entry: Entry) -> str | None:
    if entry.area != "":
        return None
    if entry.kind == Kind.PACKAGE:
        return package_stem(entry.key)
    if entry.kind == Kind.ORPHAN and entry.key.endswith(_PARTIAL):
        return package_stem(entry.key[: -len(_PARTIAL)])
    if entry.kind in (Kind.ARCHIVE, Kind.CORRUPT):
        return entry.key
    return None


def closure(entries: Sequence[Entry], chosen: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """A package goes whole: with a chosen package file or extracted dir go the other forms
    of the same ``NAME-VERSION-BUILD`` in that dir (package files, ``.partial``, and the
    extracted dir unless an environment links it, which conda's clean would keep too)."""
    picked = {(e.cache_dir, e.key) for e in chosen}
    stems = {(e.cache_dir, s): e.key for e in chosen if (s := _stem(e)) is not None}
    out: list[tuple[Entry, str]] = []
    for e in entries:
        stem = _stem(e)
        if stem is None or (e.cache_dir, e.key) in picked:
            continue
        by = stems.get((e.cache_dir, stem))
        if by is None:
            continue
        if e.kind in (Kind.ARCHIVE, Kind.CORRUPT) and _linked(e):
            continue
        out.append((e, f"same package as {by}"))
    return out


def guard(entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """``chosen`` without extracted packages (and package files) an environment still
    hard-links: ``conda clean`` never removes those, and removing them frees nothing."""
    return [(e, why) for e, why in chosen if not (e.kind in _LINKABLE and _linked(e))]


_LINKABLE = frozenset({Kind.ARCHIVE, Kind.PACKAGE})


class CondaFormat(CacheFormat):
    """conda's cache format: this module's functions, checked against the contract."""

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


#: The one instance :func:`cachecensus.caches.format_for` returns for conda.
FORMAT = CondaFormat()
