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
``LOCK``
    a path relative to the cache dir that the tool locks (``flock``) while it works, taken
    exclusively by the delete engine; None for tools that take no lock.
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


def detect(host: Host, path: str, default: str = "pip") -> str:
    """The tool whose layout the directory ``path`` has; ``default`` when none claims it
    (an empty or absent directory, or a pip cache before its first download)."""
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


def with_trash(result: CacheScan) -> CacheScan:
    """``result`` with the directories an interrupted cachecensus removal left aside (any
    path component ``.cachecensus-trash-<12 hex>``) as one ``orphan`` entry each, whatever
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
        at = next((i for i, p in enumerate(parts[:-1]) if is_trash_name(p)), None)
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
