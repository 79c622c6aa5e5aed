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
- a bucket of another version (``wheels-v2`` of uv 0.4 beside ``wheels-v8``) is read the
  same way (every layout from uv 0.4 on is: :mod:`cachecensus.caches.uvbuckets`). Whether
  it is *old* depends on the uvs installed on the machine
  (:func:`cachecensus.discover.uvbin.installed_uvs`, read from their binaries): a bucket no
  installed uv uses is ``unused`` (its entries' ``detail`` says so and ``prune`` removes
  it); one some installed uv uses is live data, whatever the newest uv calls it. With no uv
  found, no bucket is called unused. A bucket newer than any uv cachecensus knows is *not
  understood*: the scan says so (a problem), and nothing in that cache is removed by
  ``remove`` or ``prune`` (nor that bucket by ``purge``).
- ``.tmpXXXXXX`` directories at the top are leftovers of an interrupted uv
  (:data:`Kind.ORPHAN`). Anything else is a :data:`Kind.STRAY`, never deleted.

``named``, ``closure`` and ``prune`` mirror ``uv cache clean PKG`` and ``uv cache prune``
(``Cache::remove``, ``Cache::prune``) of the uv that wrote each bucket: ``clean PKG`` takes
the package's pointers, sdists and index pages in every pointer bucket and the archives
only those pointers referenced; ``prune`` removes unused buckets, leftover temporary
directories, every cached environment, then the archives no pointer of a live bucket
references. Checked file by file against uv 0.4.30, 0.6.17, 0.8.24, 0.10.12, 0.12.24 and
0.13.9 on caches each of them grew (``tests/test_uv_versions.py``).
"""

from __future__ import annotations

import os
import posixpath
import re
import stat
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace

from cachecensus.caches import uvbuckets
from cachecensus.caches.base import CacheFormat, ScannerBase, has_file
from cachecensus.caches.uvbuckets import NEWEST_UV, understood, writers
from cachecensus.discover.uvbin import UvBinary
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

#: The bucket versions the newest uv cachecensus knows writes (``CacheBucket::to_str``).
CURRENT: dict[str, int] = {b: uvbuckets.newest_version(b) for b in uvbuckets.NEWEST}
#: How an entry's ``detail`` starts in a bucket no installed uv uses (``prune`` removes it),
#: and in one newer than any uv cachecensus knows (nothing removed from that cache).
UNUSED = "unused bucket "
NOT_UNDERSTOOD = "not understood: "
#: Buckets that hold pointers to archives.
POINTER_BASES = ("wheels", "sdists")
#: Files at the top of the cache that are uv's bookkeeping (``prune`` keeps them too).
CONTROL_FILES = frozenset({".lock", "CACHEDIR.TAG", ".gitignore", ".git"})

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
    return uvbuckets.split(top)


def is_newest(top: str) -> bool:
    """One of the buckets the newest uv cachecensus knows writes."""
    return top in uvbuckets.NEWEST.values()


def bucket_note(top: str, installed: Sequence[UvBinary], owner: int | None = None) -> str | None:
    """What an entry of bucket ``top`` says about the bucket, given the uvs installed and
    the uid owning the cache: :data:`NOT_UNDERSTOOD` (newer than any uv known),
    :data:`UNUSED` (no installed uv uses it, and a uv of root's or the owner's was found to
    say so: another user's planted uv keeps buckets, never condemns them), or who uses it;
    None for a bucket of the newest uv in use or kept for want of any uv found."""
    found = bucket_of(top)
    if found is None:
        return None
    base = found[0]
    if not understood(top):
        return (
            f"{NOT_UNDERSTOOD}uv cache layout {top} is newer than any uv cachecensus knows "
            f"(uv {NEWEST_UV} writes {uvbuckets.NEWEST[base]})"
        )
    who = writers(top)
    of = f"of uv {who}" if who else "of an older uv"
    users = [uv for uv in installed if top in uv.buckets]
    if users:
        return None if is_newest(top) else f"bucket {top} {of}, in use: {users[0].label()}"
    if not any(uv.owner in (0, owner) for uv in installed):
        if is_newest(top):
            return None
        return (
            f"bucket {top} {of}: kept (no uv of root's or the cache owner's found on this "
            "machine to tell whether one uses it)"
        )
    shown = ", ".join(uv.label() for uv in installed[:3])
    more = f" and {len(installed) - 3} more" if len(installed) > 3 else ""
    return f"{UNUSED}{top} {of}: no uv on this machine uses it (found {shown}{more})"


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
            # sdists-vN/.git, .gitignore: the bucket's bookkeeping, planned only with the
            # bucket once no uv uses it (a control entry otherwise: never planned)
            return "tmp" if name in (".git", ".gitignore") else None
        if base == "sdists" and len(parts) < _SDIST_DEPTH.get(parts[1], len(parts)) + 2:
            return None  # not inside one source distribution's directory
        if base == "sdists" and len(parts) > _SDIST_DEPTH[parts[1]] + 3:
            # inside a directory of one revision: the unpacked sdist (<rev>/src/ from uv
            # 0.5, <rev>/<filename>/ in uv 0.4), whatever its files are named
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


def _is_pointer_area(area: str) -> bool:
    found = bucket_of(area)
    return found is not None and found[0] in POINTER_BASES


def references(entries: Iterable[Entry], skip: Collection[str] = ()) -> dict[str, list[Entry]]:
    """Archive key -> the entries of the ``wheels``/``sdists`` buckets (of any uv version,
    but those in ``skip``) whose symlinks resolve to it (uv's ``find_archive_references``,
    over every uv's pointers: an archive one of them references is in use)."""
    refs: dict[str, list[Entry]] = {}
    for entry in entries:
        if _is_pointer_area(entry.area) and entry.area not in skip:
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

    def __init__(self, host: Host, cache_dir: str, installed: Sequence[UvBinary]) -> None:
        super().__init__(host, cache_dir)
        self.problems: list[Problem] = []
        self.installed = installed
        try:
            self.owner: int | None = os.lstat(self.real_top).st_uid
        except OSError:
            self.owner = None

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
            problems=(*problems, *self.problems),
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
        base = found[0]
        old = bucket_note(top, self.installed, self.owner)
        if old is not None and old.startswith(NOT_UNDERSTOOD):
            self.problems.append(
                Problem(
                    f"{self.top}/{top}",
                    old[len(NOT_UNDERSTOOD) :] + ": nothing removed from this cache by remove "
                    "or prune, nor from this bucket by purge",
                )
            )
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
        if old is not None and old.startswith(UNUSED):
            # the bookkeeping of a bucket no uv uses goes with it (uv prune removes the
            # whole directory), where its shape allows
            out = [
                replace(e, kind=Kind.ORPHAN, detail=old)
                if e.kind == Kind.CONTROL
                and all(cache_shape(f.path[len(self.top) + 1 :]) for f in e.files)
                else e
                for e in out
            ]
        return out


def _join(*parts: str | None) -> str | None:
    joined = "; ".join(p for p in parts if p)
    return joined or None


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
    installed: Sequence[UvBinary] | None = None,
    prefixes: Iterable[str] = (),
) -> CacheScan:
    """Every entry of the uv cache at system path ``cache_dir`` (see the module doc).

    Identification reads only names and symlinks (no file body), so ``memo`` and
    ``identify`` change nothing; ``progress(n)`` is told about every entry at the end.
    ``installed``: the uvs on the machine (default: looked for, see
    :mod:`cachecensus.discover.uvbin`, in the environments at ``prefixes`` too)."""
    del memo, identify
    if installed is None:
        from cachecensus.discover.uvbin import installed_uvs

        installed = installed_uvs(host, prefixes=prefixes)
    result = _Scanner(host, cache_dir, installed).run()
    if progress is not None and result.entries:
        progress(len(result.entries))
    return result


def _says(entry: Entry, prefix: str) -> bool:
    return (entry.detail or "").startswith(prefix)


def _understood(entries: Iterable[Entry]) -> bool:
    """No entry of these (one cache's) lies in a bucket newer than any uv known."""
    return not any(_says(e, NOT_UNDERSTOOD) for e in entries)


def _by_cache(entries: Iterable[Entry]) -> dict[str, list[Entry]]:
    out: dict[str, list[Entry]] = {}
    for entry in entries:
        out.setdefault(entry.cache_dir, []).append(entry)
    return out


def purgeable(entry: Entry) -> bool:
    """What ``uv cache clean`` removes and uv rebuilds: everything but its bookkeeping (and
    a bucket not understood)."""
    return entry.kind not in (Kind.CONTROL, Kind.STRAY) and not _says(entry, NOT_UNDERSTOOD)


def closure(entries: Sequence[Entry], chosen: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """The archives that ``uv cache clean PKG`` would remove with ``chosen``: those some
    pointer referenced, and that no surviving pointer (of any uv version) references."""
    gone = {(e.cache_dir, e.key) for e in chosen}
    out: list[tuple[Entry, str]] = []
    for mine in _by_cache(entries).values():
        refs = references(mine)
        for entry in mine:
            if entry.kind != Kind.ARCHIVE or (entry.cache_dir, entry.key) in gone:
                continue
            holders = refs.get(entry.key, [])
            if holders and all((r.cache_dir, r.key) in gone for r in holders):
                names = ", ".join(sorted({r.project or r.key for r in holders}))
                out.append((entry, f"archive referenced only by removed pointers ({names})"))
    return out


def prune(entries: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """What ``uv cache prune`` removes (``Cache::prune``, without ``--ci``), with "old"
    meaning what no installed uv uses: unused buckets whole, leftover temporary
    directories, every cached environment, then the archives no pointer of a live bucket
    references. Strays stay (uv would remove any unknown top-level file or directory too);
    a cache with a bucket not understood is left alone."""
    out: list[tuple[Entry, str]] = []
    for mine in _by_cache(entries).values():
        if not _understood(mine):
            continue
        unused = {e.area for e in mine if _says(e, UNUSED)}
        taken: set[str] = set()
        for entry in mine:
            if entry.kind in (Kind.STRAY, Kind.CONTROL):
                continue
            found = bucket_of(entry.area)
            if entry.kind == Kind.ORPHAN and _TMPDIR.match(entry.area):
                out.append((entry, "leftover temporary directory"))
            elif entry.area in unused:
                out.append((entry, f"old bucket {entry.area}: no uv on this machine uses it"))
            elif found is not None and found[0] == "environments":
                out.append((entry, "cached environment"))
            else:
                continue
            taken.add(entry.key)
        refs = references(mine, skip=unused)
        for entry in mine:
            if (
                entry.kind == Kind.ARCHIVE
                and entry.area == "archive-v0"
                and entry.key not in refs
                and entry.key not in taken
            ):
                out.append((entry, "archive no pointer references"))
    return out


def named(entries: Sequence[Entry], matched: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """What ``uv cache clean PKG`` takes by name, given the entries a pattern matched (of
    one cache): the package's entries in the ``wheels``/``sdists``/``simple`` buckets of
    every uv version (never an archive by name: :func:`closure` adds the ones only those
    pointers referenced), and, as uv does on any clean, every flat-index page. Nothing in a
    cache with a bucket not understood (the scan's problem says why)."""
    if not _understood(entries):
        return []

    def base(entry: Entry) -> str | None:
        found = bucket_of(entry.area)
        return found[0] if found else None

    by_name = ("wheels", "sdists", "simple")
    out = [(e, "matches") for e in matched if base(e) in by_name and e.kind != Kind.CONTROL]
    if out:
        caches = {e.cache_dir for e, _ in out}
        out += [
            (e, "flat-index page (uv cache clean drops them all)")
            for e in entries
            if base(e) == "flat-index" and e.cache_dir in caches and e.kind != Kind.CONTROL
        ]
    return out


def guard(entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]) -> list[tuple[Entry, str]]:
    """``chosen`` without the archives a surviving pointer (of any uv version) still
    references: removing one would leave that uv a dangling pointer (``uv cache prune``
    keeps every referenced archive)."""
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


def entry_path(entry: Entry) -> str:
    """Where an entry is: its own directory (an archive, an sdist, an environment), its
    pointer (a wheel's symlink, else its first file: ``.http``, ``.rkyv``...)."""
    own = f"{entry.cache_dir.rstrip('/')}/{entry.key}"
    if any(f.path == own for f in entry.files):
        return own
    if entry.files and all(f.path.startswith(own + "/") for f in entry.files):
        return own
    return entry.files[0].path if entry.files else own


class UvFormat(CacheFormat):
    """uv's cache format: this module's functions, checked against the contract."""

    TOOL = TOOL
    LOCK = LOCK
    MARKER = MARKER
    PRUNE_BOUNDED = PRUNE_BOUNDED
    SCAN_TAKES_INSTALLED = True
    looks_like = staticmethod(looks_like)
    scan = staticmethod(scan)
    cache_shape = staticmethod(cache_shape)
    purgeable = staticmethod(purgeable)
    closure = staticmethod(closure)
    prune = staticmethod(prune)
    named = staticmethod(named)
    guard = staticmethod(guard)
    entry_path = staticmethod(entry_path)
    marked = staticmethod(marked)
    trash_parent = staticmethod(trash_parent)


#: The one instance :func:`cachecensus.caches.format_for` returns for uv.
FORMAT = UvFormat()
