"""uv's cache on disk, entry by entry.

Layout, as uv 0.13 (``crates/uv-cache``, ``uv-distribution``, ``uv-client``) writes it: a
directory of *buckets* named ``NAME-vN``, the version bumped whenever the format changes
(uv 0.13.9 writes ``wheels-v8``, ``sdists-v11``, ``simple-v28``, ``flat-index-v7``,
``interpreter-v5``, ``git-v2``, ``archive-v0``, ``builds-v0``, ``environments-v2``,
``python-v1``, ``binaries-v0``, ``osv-v1``), plus ``.lock`` (flocked: shared by every
running uv, exclusive by ``uv cache clean/prune``), ``CACHEDIR.TAG`` and ``.gitignore``
(``*``); ``sdists-vN/`` also holds an empty ``.gitignore`` and a phony ``.git``.

- ``archive-v0/<id>/``: an unpacked wheel (its files, hard-linked or copied into
  environments on install). One :data:`Kind.ARCHIVE` entry each; project and version from
  its ``*.dist-info`` directory. Archives are reached only through *pointers*.
- ``wheels-vN/{pypi,index/<hash>,url/<hash>}/<name>/<version>-<tags>``: a downloaded wheel:
  a symlink to ``../../../../archive-v0/<id>`` (what ``uv cache clean``/``prune`` count as a
  reference), ``.http`` (msgpack ``[id, hashes, filename...]`` + the HTTP cache policy),
  ``.msgpack`` (the wheel's metadata) and a ``.lock``. One :data:`Kind.WHEEL` entry per
  ``<version>-<tags>`` (:data:`Kind.METADATA` when only the metadata was fetched).
- ``sdists-vN/{pypi,index/<hash>}/<name>/<version>/``, ``sdists-vN/{url,path}/<hash>/``,
  ``sdists-vN/git/<hash>/<sha>/``: a source distribution: ``revision.http``/``revision.rev``
  (the pointer to the current revision), per revision ``<rev>/src/`` (the unpacked sdist),
  ``metadata.msgpack``, the built ``*.whl`` and a symlink ``<name>-<ver>-<tags>`` to its
  archive. One entry each: :data:`Kind.BUILT_WHEEL` once a wheel was built, else
  :data:`Kind.SDIST`.
- ``simple-vN/{pypi,index/<hash>}/<name>.rkyv``: an index page (:data:`Kind.INDEX_PAGE`);
  ``flat-index-vN/``: find-links pages (index pages of no one project).
- ``interpreter-vN/``: interpreter probes (:data:`Kind.METADATA`, one per file);
  ``builds-vN/<tmp>/``, ``environments-vN/<name>/``: environments (:data:`Kind.ENVIRONMENT`);
  ``git-vN/{db,checkouts}/<hash>/``: git clones (:data:`Kind.SOURCE`); ``python-vN``,
  ``binaries-vN`` downloads (:data:`Kind.PACKAGE`), ``osv-vN`` (:data:`Kind.METADATA`).
- a bucket of another version than uv 0.13's (``wheels-v3`` beside ``wheels-v8``) is read
  the same way, each entry's ``detail`` saying ``old bucket``; ``.tmpXXXXXX`` directories at
  the top are leftovers of an interrupted uv (:data:`Kind.ORPHAN`). Anything else is a
  :data:`Kind.STRAY`, never deleted.

``closure`` and ``prune`` mirror ``Cache::remove`` and ``Cache::prune`` (``lib.rs``): an
archive goes when every symlink in the current ``wheels``/``sdists`` buckets that pointed at
it goes (one that no current pointer ever referenced stays for ``clean PKG`` and goes for
``prune``); ``prune`` also removes old buckets and every cached environment.
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Callable, Iterable, Sequence

from cachecensus.caches.base import ScannerBase, has_file
from cachecensus.host import Host
from cachecensus.memo import Memo
from cachecensus.models import CacheScan, Entry, Kind, Problem

TOOL = "uv"
LOCK = ".lock"
#: What uv writes in every cache dir it uses, first thing (``Cache::init``:
#: ``cachedir::ensure_tag``, the Cache Directory Tagging signature), and never removes;
#: nothing is removed from a directory without it.
MARKER = "CACHEDIR.TAG"
TAG_SIGNATURE = b"Signature: 8a477f597d28d172789f06886806bc55"
#: ``cachecensus prune`` rules (age, size, versions) only ever pick among what
#: ``uv cache prune`` removes: uv keeps every live wheel and referenced archive.
PRUNE_BOUNDED = True

#: The bucket versions uv 0.13 writes (``CacheBucket::to_str``).
CURRENT: dict[str, int] = {
    "wheels": 8,
    "sdists": 11,
    "flat-index": 7,
    "git": 2,
    "interpreter": 5,
    "simple": 28,
    "archive": 0,
    "builds": 0,
    "environments": 2,
    "python": 1,
    "binaries": 0,
    "osv": 1,
}
#: Bucket names of older uvs, read like the bucket that replaced them.
RENAMED = {"built-wheels": "sdists", "wheel-metadata": "wheels"}
#: Files at the top of the cache that are uv's bookkeeping (``prune`` keeps them too).
CONTROL_FILES = frozenset({".lock", "CACHEDIR.TAG", ".gitignore", ".git"})

_BUCKET = re.compile(r"^([a-z][a-z-]*?)-v(\d+)$")
_TMPDIR = re.compile(r"^\.tmp[A-Za-z0-9]{6}$")
_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ARCHIVE_REF = re.compile(r"archive-v0/([A-Za-z0-9_-]+)")
_POINTER_EXT = (".http", ".rev", ".msgpack", ".lock", ".whl")
#: How deep below ``sdists-vN/<kind>/`` one source distribution's directory is.
_SDIST_DEPTH = {"pypi": 3, "index": 4, "url": 2, "path": 2, "git": 3}
#: Buckets of whole directories: the least number of path parts of a file in one (a file
#: directly in the bucket is none of uv's), and where the directories are below the bucket.
_DIR_BUCKETS = {"builds": 3, "environments": 3, "python": 3, "binaries": 3, "git": 4}
_GIT_DIRS = ("db", "checkouts")  # uv-git: git-vN/db/<digest>/, git-vN/checkouts/<digest>/<rev>/

Raw = tuple[str, os.stat_result]


def bucket_of(top: str) -> tuple[str, int] | None:
    """(base name, version) of a top-level directory name that is a uv bucket."""
    match = _BUCKET.match(top)
    if not match:
        return None
    base = RENAMED.get(match.group(1), match.group(1))
    if base not in CURRENT:
        return None
    return base, int(match.group(2))


def is_current(top: str) -> bool:
    found = bucket_of(top)
    return found is not None and top in {f"{b}-v{v}" for b, v in CURRENT.items()}


def is_old(top: str) -> bool:
    """A bucket of an older format than uv 0.13's (``uv cache prune`` removes it)."""
    found = bucket_of(top)
    if found is None:
        return False
    base, version = found
    return top.partition("-v")[0] in RENAMED or version < CURRENT[base]


# ---------------------------------------------------------------------- shapes


def cache_shape(rel: str) -> str | None:
    """The role of ``rel`` (relative to a uv cache dir) if uv writes a file there: ``pointer``
    (``.http``/``.rev``), ``record`` (``.msgpack``, ``.rkyv``), ``wheel``, ``link`` (a
    wheel pointer's symlink name), ``member`` (inside an archive, an unpacked sdist, an
    environment...), ``tmp`` (a lock file, a leftover temporary dir); None for the cache's
    bookkeeping and anything uv does not write."""
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts) or len(parts) < 2:
        return None  # top-level files (.lock, CACHEDIR.TAG...) are never removed
    top = parts[0]
    if _TMPDIR.match(top):
        return "tmp"
    found = bucket_of(top)
    if found is None:
        return None
    base = found[0]
    name = parts[-1]
    if base == "archive":
        return "member" if len(parts) >= 3 and _ID.match(parts[1]) else None
    if base in ("wheels", "sdists"):
        if len(parts) == 2:
            return None  # sdists-vN/.git, .gitignore: bookkeeping
        if base == "sdists" and len(parts) < _SDIST_DEPTH.get(parts[1], len(parts)) + 2:
            return None  # not inside one source distribution's directory
        if base == "sdists" and "src" in parts[2:-1]:
            return "member"
        if name.endswith((".http", ".rev")):
            return "pointer"
        if name.endswith(".msgpack"):
            return "record"
        if name.endswith(".whl"):
            return "wheel"
        if name.endswith(".lock"):
            return "tmp"
        return "link" if "." not in name or "-" in name else "member"
    if base in ("simple", "flat-index", "interpreter", "osv"):
        if name.endswith(".lock"):
            return "tmp"
        return "record"
    if len(parts) < _DIR_BUCKETS.get(base, 0) or (base == "git" and parts[1] not in _GIT_DIRS):
        return None  # not where uv keeps that bucket's directories
    if base == "environments" and len(parts) == 3:
        return "tmp" if name.endswith(".lock") else "link"  # NAME/HASH -> archive-v0/<id>
    return "member"  # builds, environments, git, python, binaries: whole directories


def trash_parent(parts: Sequence[str]) -> bool:
    """Whether ``parts`` is where uv keeps whole entry directories (so where the delete
    engine moves one aside): the top (an interrupted uv's ``.tmpXXXXXX``), ``archive-v0``,
    ``builds``/``environments``/``python``/``binaries``, ``git-vN/{db,checkouts}``, and
    a source distribution's parent in ``sdists-vN``."""
    if not parts:
        return True
    found = bucket_of(parts[0])
    if found is None:
        return False
    base = found[0]
    if base in ("archive", "builds", "environments", "python", "binaries"):
        return len(parts) == 1
    if base == "git":
        return len(parts) == 2 and parts[1] in _GIT_DIRS
    if base == "sdists":
        return len(parts) > 1 and len(parts) == _SDIST_DEPTH.get(parts[1], 0)
    return False


def marked(dir_fd: int) -> bool:
    """Whether the directory open at ``dir_fd`` has uv's ``CACHEDIR.TAG`` (a regular file,
    not a symlink, starting with the tagging signature)."""
    return has_file(dir_fd, MARKER, TAG_SIGNATURE)


# ---------------------------------------------------------------------- references


def archive_target(entry: Entry) -> str | None:
    """The archive (``archive-v0/<id>``) a pointer entry references, from its ``detail``."""
    match = _ARCHIVE_REF.search(entry.detail or "")
    return f"archive-v0/{match.group(1)}" if match else None


def _is_pointer_area(entry: Entry) -> bool:
    return entry.area in (
        f"wheels-v{CURRENT['wheels']}",
        f"sdists-v{CURRENT['sdists']}",
    )


def references(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    """Archive key -> the entries of the current ``wheels``/``sdists`` buckets whose
    symlinks resolve to it (uv's ``find_archive_references``)."""
    refs: dict[str, list[Entry]] = {}
    for entry in entries:
        if _is_pointer_area(entry):
            for match in _ARCHIVE_REF.finditer(entry.detail or ""):
                refs.setdefault(f"archive-v0/{match.group(1)}", []).append(entry)
    return refs


# ---------------------------------------------------------------------- the scanner


def _dist_info(names: Iterable[str]) -> tuple[str | None, str | None]:
    from packaging.utils import canonicalize_name

    for name in sorted(names):
        if name.endswith(".dist-info") and "-" in name:
            stem = name[: -len(".dist-info")]
            project, _, version = stem.rpartition("-")
            if project:
                return str(canonicalize_name(project)), version
    return None, None


def _wheel_name(filename: str) -> tuple[str, str] | None:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    name = filename if filename.endswith(".whl") else filename + ".whl"
    try:
        project, version, _, _ = parse_wheel_filename(name)
    except (InvalidWheelFilename, ValueError):
        return None
    return str(project), str(version)


def _norm(name: str) -> str:
    from packaging.utils import canonicalize_name

    return str(canonicalize_name(name))


class _Scanner(ScannerBase):
    tool = TOOL

    def __init__(self, host: Host, cache_dir: str) -> None:
        super().__init__(host, cache_dir)
        self.problems: list[Problem] = []

    def link_target(self, rel: str) -> str | None:
        """``archive-v0/<id>`` when the symlink ``rel`` resolves to an existing archive dir
        of this cache (uv's ``canonicalize``), else None."""
        try:
            target = os.readlink(f"{self.real_top}/{rel}")
        except OSError:
            return None
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(rel), target))
        if target.startswith("/"):
            try:
                joined = posixpath.relpath(self.host.realpath(target), self.host.realpath(self.top))
            except (OSError, ValueError):
                return None
        parts = joined.split("/")
        if len(parts) != 2 or parts[0] != "archive-v0" or not _ID.match(parts[1]):
            return None
        real = f"{self.real_top}/{joined}"
        try:
            if not stat.S_ISDIR(os.stat(real).st_mode):
                return None
        except OSError:
            return None
        return joined

    # ------------------------------------------------------------------ buckets

    def archives(self, area: str, raws: list[Raw], old: str | None) -> list[Entry]:
        groups: dict[str, list[Raw]] = {}
        out: list[Entry] = []
        for raw in raws:
            parts = raw[0].split("/")
            if len(parts) >= 3 and _ID.match(parts[1]):
                groups.setdefault(parts[1], []).append(raw)
            else:
                out.append(
                    self.entry(area, raw[0], Kind.STRAY, [raw], detail="not inside an archive")
                )
        for ident, members in sorted(groups.items()):
            key = f"{area}/{ident}"
            tops = {r[0].split("/")[2] for r in members if len(r[0].split("/")) > 3}
            project, version = _dist_info(tops)
            detail = None
            if project is None:
                names = {r[0].split("/")[2] for r in members}
                venv = "pyvenv.cfg" in names
                detail = "an environment (pyvenv.cfg)" if venv else "no .dist-info"
            out.append(
                self.entry(
                    area,
                    key,
                    Kind.ARCHIVE,
                    members,
                    project=project,
                    version=version,
                    detail=_join(old, detail),
                )
            )
        return out

    def wheels(self, area: str, raws: list[Raw], old: str | None) -> list[Entry]:
        groups: dict[str, list[Raw]] = {}
        out: list[Entry] = []
        for raw in raws:
            rel = raw[0]
            parts = rel.split("/")
            if len(parts) < 4:
                kind = Kind.CONTROL if parts[-1] == ".lock" else Kind.STRAY
                out.append(self.entry(area, rel, kind, [raw], detail=old))
                continue
            stem = parts[-1]
            for ext in _POINTER_EXT:
                if stem.endswith(ext):
                    stem = stem[: -len(ext)]
                    break
            groups.setdefault("/".join([*parts[:-1], stem]), []).append(raw)
        for key, members in sorted(groups.items()):
            parts = key.split("/")
            project = _norm(parts[-2])
            stem = parts[-1]
            pieces = stem.split("-")
            version: str | None = pieces[0] if pieces[0][:1].isdigit() else None
            parsed = _wheel_name(stem)
            if version is None and parsed is not None:
                version = parsed[1]
            links = [r for r in members if stat.S_ISLNK(r[1].st_mode)]
            target = next((t for t in (self.link_target(r[0]) for r in links) if t), None)
            names = {r[0].rsplit("/", 1)[1] for r in members}
            downloaded = links or any(n.endswith((".http", ".whl")) for n in names)
            kind = Kind.WHEEL if downloaded else Kind.METADATA
            detail = None
            if target is not None:
                detail = f"points to {target}"
            elif links:
                detail = "dangling pointer"
            out.append(
                self.entry(
                    area,
                    key,
                    kind,
                    members,
                    project=project,
                    version=version,
                    filename=f"{parts[-2]}-{stem}.whl" if version else None,
                    detail=_join(old, detail),
                )
            )
        return out

    def sdists(self, area: str, raws: list[Raw], old: str | None) -> list[Entry]:
        groups: dict[str, list[Raw]] = {}
        out: list[Entry] = []
        for raw in raws:
            parts = raw[0].split("/")
            depth = _SDIST_DEPTH.get(parts[1] if len(parts) > 1 else "", 0)
            if len(parts) == 2 and parts[1] in (".git", ".gitignore"):
                out.append(self.entry(area, raw[0], Kind.CONTROL, [raw], detail=old))
            elif depth and len(parts) > depth + 1:
                groups.setdefault("/".join(parts[: depth + 1]), []).append(raw)
            else:
                kind = Kind.CONTROL if parts[-1] == ".lock" else Kind.STRAY
                out.append(self.entry(area, raw[0], kind, [raw], detail=old))
        for key, members in sorted(groups.items()):
            parts = key.split("/")
            project: str | None = None
            version: str | None = None
            filename: str | None = None
            if parts[1] in ("pypi", "index"):
                project, version = _norm(parts[-2]), parts[-1]
            targets: list[str] = []
            built = False
            for rel, st in members:
                name = rel.rsplit("/", 1)[1]
                if "/src/" in rel:
                    continue
                if name.endswith(".whl") or stat.S_ISLNK(st.st_mode):
                    parsed = _wheel_name(name)
                    if parsed is not None:
                        built = True
                        filename = name if name.endswith(".whl") else filename
                        project = project or parsed[0]
                        version = version or parsed[1]
                if stat.S_ISLNK(st.st_mode):
                    target = self.link_target(rel)
                    if target:
                        targets.append(target)
            detail = "; ".join(f"points to {t}" for t in sorted(set(targets))) or None
            out.append(
                self.entry(
                    area,
                    key,
                    Kind.BUILT_WHEEL if built else Kind.SDIST,
                    members,
                    project=project,
                    version=version,
                    filename=filename,
                    detail=_join(old, detail),
                )
            )
        return out

    def simple(self, area: str, raws: list[Raw], old: str | None, flat: bool) -> list[Entry]:
        groups: dict[str, list[Raw]] = {}
        for raw in raws:
            stem = raw[0]
            for ext in (".rkyv", ".lock", ".msgpack"):
                if stem.endswith(ext):
                    stem = stem[: -len(ext)]
                    break
            groups.setdefault(stem, []).append(raw)
        out: list[Entry] = []
        for key, members in sorted(groups.items()):
            has_page = any(r[0].endswith((".rkyv", ".msgpack")) for r in members)
            name = key.rsplit("/", 1)[1]
            project = None if flat or not has_page else _norm(name)
            kind = Kind.INDEX_PAGE if has_page else Kind.CONTROL
            out.append(self.entry(area, key, kind, members, project=project, detail=old))
        return out

    def grouped(
        self, area: str, raws: list[Raw], old: str | None, kind: Kind, depth: int
    ) -> list[Entry]:
        """One ``kind`` entry per directory ``depth`` levels below the bucket (files higher
        up, or every file with ``depth`` 0: one entry each)."""
        groups: dict[str, list[Raw]] = {}
        for raw in raws:
            parts = raw[0].split("/")
            key = "/".join(parts[: depth + 1]) if depth and len(parts) > depth + 1 else raw[0]
            groups.setdefault(key, []).append(raw)
        out: list[Entry] = []
        for key, members in sorted(groups.items()):
            targets = sorted(
                {
                    t
                    for r in members
                    if stat.S_ISLNK(r[1].st_mode)
                    for t in [self.link_target(r[0])]
                    if t
                }
            )
            detail = "; ".join(f"points to {t}" for t in targets) or None
            out.append(self.entry(area, key, kind, members, detail=_join(old, detail)))
        return out

    # ------------------------------------------------------------------ all

    def run(self) -> CacheScan:
        early = self.unusable()
        if early is not None:
            return early
        files, others, problems = self.walk()
        by_top: dict[str, list[Raw]] = {}
        entries: list[Entry] = []
        for raw in files + others:
            rel, st = raw
            if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)):
                entries.append(self.entry("", rel, Kind.STRAY, [raw], detail="special file"))
                continue
            top = rel.partition("/")[0]
            if "/" not in rel:
                if rel in CONTROL_FILES and stat.S_ISREG(st.st_mode):
                    entries.append(self.entry("", rel, Kind.CONTROL, [raw]))
                else:
                    detail = "symlink" if stat.S_ISLNK(st.st_mode) else "not part of uv's cache"
                    entries.append(self.entry("", rel, Kind.STRAY, [raw], detail=detail))
                continue
            by_top.setdefault(top, []).append(raw)
        for top, raws in sorted(by_top.items()):
            entries.extend(self.bucket(top, raws))
        entries.sort(key=lambda e: e.key)
        size = physical = 0
        for _, st in files:
            size += st.st_size
            physical += st.st_blocks
        return CacheScan(
            tool=TOOL,
            cache_dir=self.top,
            exists=True,
            entries=tuple(entries),
            files=len(files),
            size=size,
            physical=physical * 512,
            problems=tuple(problems),
        )

    def bucket(self, top: str, raws: list[Raw]) -> list[Entry]:
        if _TMPDIR.match(top):
            detail = "temporary directory of an interrupted uv run"
            return [self.entry(top, top, Kind.ORPHAN, raws, detail=detail)]
        found = bucket_of(top)
        if found is None:
            return [
                self.entry(top, rel, Kind.STRAY, [(rel, st)], detail="not part of uv's cache")
                for rel, st in raws
            ]
        base, version = found
        old = None
        if is_old(top):
            old = f"old bucket {top} (uv 0.13 writes {base}-v{CURRENT[base]})"
        elif version > CURRENT[base]:
            old = f"bucket {top} is newer than uv 0.13's {base}-v{CURRENT[base]}"
        out: list[Entry] = []
        plain: list[Raw] = []
        for raw in raws:
            # symlinks are wheel pointers, archive members and environment links; any other
            # symlink is a stray
            linked = ("wheels", "sdists", "archive", "environments", "builds")
            if stat.S_ISLNK(raw[1].st_mode) and base not in linked:
                out.append(self.entry(top, raw[0], Kind.STRAY, [raw], detail="symlink"))
            elif base in _DIR_BUCKETS and cache_shape(raw[0]) is None:
                detail = f"not where uv keeps its {base} directories"
                out.append(self.entry(top, raw[0], Kind.STRAY, [raw], detail=detail))
            else:
                plain.append(raw)
        if base == "archive":
            out.extend(self.archives(top, plain, old))
        elif base == "wheels":
            out.extend(self.wheels(top, plain, old))
        elif base == "sdists":
            out.extend(self.sdists(top, plain, old))
        elif base in ("simple", "flat-index"):
            out.extend(self.simple(top, plain, old, base == "flat-index"))
        elif base in ("interpreter", "osv"):
            out.extend(self.grouped(top, plain, old, Kind.METADATA, 0))
        elif base in ("builds", "environments"):
            out.extend(self.grouped(top, plain, old, Kind.ENVIRONMENT, 1))
        elif base == "git":
            out.extend(self.grouped(top, plain, old, Kind.SOURCE, 2))
        else:  # python, binaries
            out.extend(self.grouped(top, plain, old, Kind.PACKAGE, 1))
        return out


def _join(*parts: str | None) -> str | None:
    joined = "; ".join(p for p in parts if p)
    return joined or None


_ROLE_ORDER = {"pointer": 0, "record": 1, "wheel": 2, "link": 3, "tmp": 4, "member": 5}


def _order(rel: str) -> tuple[int, str]:
    """Files of an entry: what uv looks up first goes first."""
    return (_ROLE_ORDER.get(cache_shape(rel) or "", 6), rel)


# ---------------------------------------------------------------------- the contract


def looks_like(host: Host, path: str) -> bool:
    """A directory with uv's ``CACHEDIR.TAG`` (:func:`marked`) and a uv bucket
    (``wheels-v8``, ``archive-v0``...)."""
    flags = os.O_RDONLY | os.O_DIRECTORY | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(host.real(path), flags)
    except (OSError, ValueError):
        return False
    try:
        return marked(fd) and any(bucket_of(n) is not None for n in os.listdir(fd))
    except OSError:
        return False
    finally:
        os.close(fd)


def scan(
    host: Host,
    cache_dir: str,
    *,
    memo: Memo | None = None,
    identify: bool = True,
    progress: Callable[[int], None] | None = None,
) -> CacheScan:
    """Every entry of the uv cache at system path ``cache_dir`` (see the module doc).

    Identification reads only names and symlinks (no file body), so ``memo`` and
    ``identify`` change nothing; ``progress(n)`` is told about every entry at the end."""
    del memo, identify
    result = _Scanner(host, cache_dir).run()
    if progress is not None and result.entries:
        progress(len(result.entries))
    return result


def purgeable(entry: Entry) -> bool:
    """What ``uv cache clean`` removes and uv rebuilds: everything but its bookkeeping."""
    return entry.kind not in (Kind.CONTROL, Kind.STRAY)


def closure(entries: Sequence[Entry], chosen: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """The archives that ``uv cache clean PKG`` would remove with ``chosen``: those some
    pointer of the current buckets referenced, and that no surviving pointer references."""
    gone = {(e.cache_dir, e.key) for e in chosen}
    refs_by_cache: dict[str, dict[str, list[Entry]]] = {}
    for entry in entries:
        if entry.cache_dir not in refs_by_cache:
            refs_by_cache[entry.cache_dir] = references(
                e for e in entries if e.cache_dir == entry.cache_dir
            )
    out: list[tuple[Entry, str]] = []
    for entry in entries:
        if entry.kind != Kind.ARCHIVE or (entry.cache_dir, entry.key) in gone:
            continue
        refs = refs_by_cache[entry.cache_dir].get(entry.key, [])
        if refs and all((r.cache_dir, r.key) in gone for r in refs):
            names = ", ".join(sorted({r.project or r.key for r in refs}))
            out.append((entry, f"archive referenced only by removed pointers ({names})"))
    return out


def prune(entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """What ``uv cache prune`` removes (``Cache::prune``, without ``--ci``): buckets of older
    formats, leftover temporary directories, every cached environment, then the archives no
    pointer of the current ``wheels``/``sdists`` buckets references. Strays stay (uv would
    remove any unknown top-level file or directory too)."""
    out: list[tuple[Entry, str]] = []
    for entry in entries:
        if entry.kind in (Kind.STRAY, Kind.CONTROL):
            continue
        if entry.kind == Kind.ORPHAN and _TMPDIR.match(entry.area):
            out.append((entry, "leftover temporary directory"))
        elif is_old(entry.area):
            out.append((entry, f"old bucket {entry.area}"))
        elif entry.area == f"environments-v{CURRENT['environments']}":
            out.append((entry, "cached environment"))
    taken = {(e.cache_dir, e.key) for e, _ in out}
    caches = {e.cache_dir for e in entries}
    for cache in caches:
        mine = [e for e in entries if e.cache_dir == cache]
        refs = references(mine)
        for entry in mine:
            if (
                entry.kind == Kind.ARCHIVE
                and entry.area == "archive-v0"
                and entry.key not in refs
                and (cache, entry.key) not in taken
            ):
                out.append((entry, "archive no pointer references"))
    return out


def named(entries: Sequence[Entry], matched: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """What ``uv cache clean PKG`` takes by name, given the entries a pattern matched: the
    package's entries in the current ``wheels``/``sdists``/``simple`` buckets (never an
    archive by name: :func:`closure` adds the ones only those pointers referenced), and,
    as uv does on any clean, every flat-index page."""
    by_name = {f"{b}-v{CURRENT[b]}" for b in ("wheels", "sdists", "simple")}
    flat = f"flat-index-v{CURRENT['flat-index']}"
    out = [(e, "matches") for e in matched if e.area in by_name and e.kind != Kind.CONTROL]
    if out:
        caches = {e.cache_dir for e, _ in out}
        out += [
            (e, "flat-index page (uv cache clean drops them all)")
            for e in entries
            if e.area == flat and e.cache_dir in caches and e.kind != Kind.CONTROL
        ]
    return out


def guard(entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """``chosen`` without the archives a surviving pointer still references: removing one
    would leave uv a dangling pointer (``uv cache prune`` keeps every referenced archive)."""
    gone = {(e.cache_dir, e.key) for e, _ in chosen}
    refs: dict[str, dict[str, list[Entry]]] = {}
    out: list[tuple[Entry, str]] = []
    for entry, why in chosen:
        if entry.kind == Kind.ARCHIVE:
            if entry.cache_dir not in refs:
                refs[entry.cache_dir] = references(
                    e for e in entries if e.cache_dir == entry.cache_dir
                )
            holders = refs[entry.cache_dir].get(entry.key, [])
            if any((r.cache_dir, r.key) not in gone for r in holders):
                continue
        out.append((entry, why))
    return out
