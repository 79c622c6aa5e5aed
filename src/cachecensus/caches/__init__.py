"""On-disk cache formats, one module per tool, behind one small interface.

Each format module (``cachecensus.caches.<module>``) provides:

``TOOL``
    the tool's name (``pip``, ``uv``, ``poetry``, ``pdm``, ``conda``).
``looks_like(host, path) -> bool``
    whether the directory ``path`` (a system path) has this tool's cache layout; used to
    tell what a ``--cache-dir DIR`` is without ``--tool``.
``scan(host, cache_dir, *, memo=None, identify=True, progress=None) -> CacheScan``
    every regular file under ``cache_dir`` counted (``files``/``size``/``physical``) and
    grouped into :class:`~cachecensus.models.Entry` records (``tool=TOOL``); never follows
    a symlink, never raises for bad content (problems are values). An entry whose files
    all lie under ``key/`` *owns* that directory: no other entry has a file in it (the
    delete engine moves such a directory aside whole before emptying it).
``cache_shape(rel) -> str | None``
    the *role* of a path relative to the cache dir if the tool itself writes files there,
    else None (never deleted). Roles, in the order the delete engine removes an entry's
    files: ``record``/``wheel``/``pointer`` (what the tool looks up first; if it cannot be
    removed the rest of the entry stays), ``tmp``, then ``body``/``origin``/``member``
    (a file inside an unpacked archive or extracted package) and ``link`` (a symlink
    inside such a directory: unlinked, never followed).
``purgeable(entry) -> bool``
    what ``cachecensus purge`` removes: everything the tool's own "clean all" removes and
    would rebuild, never its bookkeeping (locks, ``CACHEDIR.TAG``).
``closure(entries, chosen) -> list[(Entry, reason)]``
    entries that must go with ``chosen`` so the result is what the tool's own "remove this
    package" leaves (uv: archives no longer referenced by any pointer).
``prune(entries) -> list[(Entry, reason)]``
    the tool's own prune (``uv cache prune``: unreferenced archives, old buckets...).
``named(entries, matched) -> list[(Entry, reason)]`` (optional)
    what the tool's own "remove this package" takes by name among the entries a pattern
    matched (uv: the current pointer buckets, never an archive by name); default: all.
``guard(entries, chosen) -> list[(Entry, reason)]`` (optional)
    ``chosen`` without what removing would break (uv: an archive a surviving pointer
    references); default: unchanged.
``entry_path(entry) -> str`` (optional)
    where ``list --json`` says the entry is (uv: an archive's directory, a wheel's
    pointer); default: its first file.
``LOCK``
    a path relative to the cache dir that the tool locks (``flock``) while it works, taken
    exclusively by the delete engine; None for tools that take no lock.
``marked(dir_fd) -> bool`` and ``MARKER`` (optional)
    whether the directory open at ``dir_fd`` carries what the tool writes in every cache
    of its (uv: ``CACHEDIR.TAG``; conda: ``urls.txt``; pdm: ``http/http-cache.db`` or
    ``self-check/``), and its name for messages. A directory without it is read and
    counted, but nothing in it is ever removed: the format's names only mean something
    inside the tool's own cache (see :func:`unmarked`). Formats whose names are hashed
    (pip, poetry) have no marker.
``trash_parent(parts) -> bool`` (optional)
    whether ``parts`` (relative to the cache dir) is a directory the format keeps entry
    directories in (uv's ``archive-v0``...): the only places where the delete engine moves
    one aside (:data:`TRASH_PREFIX`), so the only places a leftover of ours is finished.
``SNAPSHOT`` (optional, default False)
    True when the tool only ever creates, renames and unlinks its cache files (never
    rewrites one in place nor links one elsewhere), so a scan stays true while no directory
    changed: its ``scan`` then takes ``dirs=`` (a list it fills with every directory's
    stamp) and :mod:`cachecensus.snapshot` may answer a read-only command from the last
    scan (pip).

pipenv writes pip's format (its cache is a pip cache in another place), so it has a
resolver (:mod:`cachecensus.resolve.pipenv`) but no format module of its own.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from cachecensus.models import CacheScan, Entry, Kind

if TYPE_CHECKING:
    from cachecensus.host import Host
    from cachecensus.memo import Memo

#: Every tool whose cache format cachecensus reads, in the order audits list them.
TOOLS: tuple[str, ...] = ("pip", "uv", "poetry", "pdm", "conda")
#: The format a tool's cache is written in (pipenv drives pip).
FORMAT_OF: dict[str, str] = {tool: tool for tool in TOOLS} | {"pipenv": "pip"}


class Format(Protocol):
    TOOL: str
    LOCK: str | None

    def looks_like(self, host: Host, path: str) -> bool: ...

    def scan(
        self,
        host: Host,
        cache_dir: str,
        *,
        memo: Memo | None = ...,
        identify: bool = ...,
        progress: Callable[[int], None] | None = ...,
    ) -> CacheScan: ...

    def cache_shape(self, rel: str) -> str | None: ...

    def purgeable(self, entry: Entry) -> bool: ...

    def closure(
        self, entries: Sequence[Entry], chosen: Sequence[Entry]
    ) -> list[tuple[Entry, str]]: ...

    def prune(self, entries: Sequence[Entry]) -> list[tuple[Entry, str]]: ...


@functools.cache
def format_for(tool: str) -> Format:
    """The format module of ``tool`` (``pipenv`` -> pip's). KeyError for an unknown tool.
    Looked up once per tool (selection asks it for every entry)."""
    module = importlib.import_module(f"cachecensus.caches.{FORMAT_OF[tool]}")
    return module


def named(tool: str, entries: Sequence[Entry], matched: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """The format's ``named`` (see the module doc), or every matched entry."""
    hook = getattr(format_for(tool), "named", None)
    if hook is None:
        return [(e, "matches") for e in matched]
    result: list[tuple[Entry, str]] = hook(entries, matched)
    return result


def guard(
    tool: str, entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]
) -> list[tuple[Entry, str]]:
    """The format's ``guard`` (see the module doc), or ``chosen`` unchanged."""
    hook = getattr(format_for(tool), "guard", None)
    if hook is None:
        return list(chosen)
    result: list[tuple[Entry, str]] = hook(entries, chosen)
    return result


def entry_path(entry: Entry) -> str:
    """The format's ``entry_path`` (see the module doc), or the entry's first file."""
    hook = getattr(format_for(entry.tool), "entry_path", None)
    if hook is not None:
        found: str = hook(entry)
        return found
    return entry.files[0].path if entry.files else f"{entry.cache_dir}/{entry.key}"


#: Directories no ``--cache-dir`` is ever guessed to be (a tool's cache, misconfigured
#: there, is read only when ``--tool`` says so), besides every account's home.
NEVER_CACHES = frozenset(
    {
        "/",
        "/bin",
        "/boot",
        "/dev",
        "/etc",
        "/home",
        "/lib",
        "/lib32",
        "/lib64",
        "/media",
        "/mnt",
        "/nix",
        "/opt",
        "/proc",
        "/root",
        "/run",
        "/sbin",
        "/snap",
        "/srv",
        "/sys",
        "/tmp",
        "/usr",
        "/usr/bin",
        "/usr/lib",
        "/usr/lib64",
        "/usr/local",
        "/usr/local/bin",
        "/usr/local/lib",
        "/usr/sbin",
        "/usr/share",
        "/var",
        "/var/cache",
        "/var/lib",
        "/var/log",
        "/var/mail",
        "/var/spool",
        "/var/tmp",
        "/var/www",
    }
)


def never_a_cache(host: Host, path: str) -> str | None:
    """What the directory ``path`` is when it is one no tool's cache is guessed to be (a
    system directory, any account's home or its ``.cache``); None otherwise."""
    import posixpath

    norm = posixpath.normpath("/" + path.lstrip("/"))
    if norm in NEVER_CACHES:
        return "a system directory"
    homes = [(u.name, u.home) for u in host.all_accounts()]
    if host.env.get("HOME"):
        homes.append(("your", host.env["HOME"]))
    for name, home in homes:
        home = posixpath.normpath("/" + home.lstrip("/"))
        whose = "your" if name == "your" else f"{name}'s"
        if norm == home:
            return f"{whose} home directory"
        if norm == posixpath.join(home, ".cache"):
            return f"{whose} directory of caches (.cache)"
    return None


def detect(host: Host, path: str, default: str = "pip") -> str | None:
    """The tool whose layout the directory ``path`` has; ``default`` when none claims it
    (an empty or absent directory, or a pip cache before its first download); None for a
    directory that is never guessed to be a cache (:func:`never_a_cache`)."""
    if never_a_cache(host, path) is not None:
        return None
    if host.is_dir(f"{path.rstrip('/')}/http-v2"):  # pip's alone: no other import needed
        return "pip"
    for tool in TOOLS:
        if tool in (default, "pip"):
            continue
        try:
            if format_for(tool).looks_like(host, path):
                return tool
        except ImportError:  # a format not present in this build
            continue
    return default


def unmarked(tool: str, dir_fd: int) -> str | None:
    """Why nothing of ``tool``'s may be removed from the directory open at ``dir_fd``: it
    lacks the marker the tool writes in every cache of its (its format's ``marked`` and
    ``MARKER``: uv's ``CACHEDIR.TAG``, conda's ``urls.txt``...); None when it has it, or
    the format's names are strict enough alone (pip's and poetry's hashed layouts)."""
    try:
        fmt = format_for(tool)
    except (KeyError, ImportError):
        return f"no format for {tool}: not removing anything here"
    marked = getattr(fmt, "marked", None)
    if marked is None or marked(dir_fd):
        return None
    return f"no {fmt.TOOL} marker ({getattr(fmt, 'MARKER', '?')}): not removing anything here"


#: The name an entry directory gets while the delete engine empties it (it is moved aside
#: first, so the tool sees it gone at once, never half there).
TRASH_PREFIX = ".cachecensus-trash-"


def is_trash_name(name: str) -> bool:
    rest = name[len(TRASH_PREFIX) :]
    return (
        name.startswith(TRASH_PREFIX)
        and len(rest) == 12
        and all(c in "0123456789abcdef" for c in rest)
    )


def trash_index(tool: str, parts: Sequence[str]) -> int | None:
    """Where in ``parts`` (a path relative to a ``tool`` cache dir, split at ``/``) lies a
    directory an interrupted removal of ours moved aside: a ``.cachecensus-trash-<hex>``
    component exactly where the delete engine makes one (in place of an entry directory
    the format names: its ``trash_parent(parts_above)``), and something inside it. None
    anywhere else: a trash name at any other depth (a nested cache's, a home's) is not
    ours to finish."""
    if any(p in ("", ".", "..") for p in parts):
        return None
    for index, part in enumerate(parts[:-1]):
        if is_trash_name(part):
            try:
                hook = getattr(format_for(tool), "trash_parent", None)
            except (KeyError, ImportError):
                return None
            return index if hook is not None and hook(parts[:index]) else None
    return None


def with_trash(result: CacheScan) -> CacheScan:
    """``result`` with the directories an interrupted cachecensus removal left aside (a
    ``.cachecensus-trash-<12 hex>`` where :func:`trash_index` finds one) as one
    ``orphan`` entry each, whatever
    the format made of their files, so ``purge`` and ``prune`` finish the job."""
    import dataclasses

    if not any(TRASH_PREFIX in f.path for e in result.entries for f in e.files[:1]):
        return result
    top = result.cache_dir.rstrip("/") + "/"
    groups: dict[str, list[Entry]] = {}
    kept: list[Entry] = []
    for entry in result.entries:
        rel = entry.files[0].path[len(top) :] if entry.files else entry.key
        parts = rel.split("/")
        at = trash_index(result.tool, parts)
        if at is None or not all(f.path.startswith(top) for f in entry.files):
            kept.append(entry)
            continue
        groups.setdefault("/".join(parts[: at + 1]), []).append(entry)
    if not groups:
        return result
    for key, members in groups.items():
        files = tuple(f for e in members for f in e.files)
        kept.append(
            dataclasses.replace(
                members[0],
                area=key.split("/", 1)[0],
                key=key,
                kind=Kind.ORPHAN,
                files=files,
                project=None,
                version=None,
                filename=None,
                detail="left by an interrupted cachecensus removal",
            )
        )
    return dataclasses.replace(result, entries=tuple(kept))


def is_trash(entry: Entry) -> bool:
    return any(is_trash_name(p) for p in entry.key.split("/"))
