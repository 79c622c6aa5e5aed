"""On-disk cache formats, one module per format, each one :class:`CacheFormat`.

Each format module (``cachecensus.caches.<module>``) defines a
:class:`~cachecensus.caches.base.CacheFormat` subclass (the contract, every optional hook's
default documented once) and exposes one instance as ``FORMAT``; :func:`format_for`
returns it for a tool of the registry (:mod:`cachecensus.tools`), so mypy checks every
format against the contract.

pipenv writes pip's format (its cache is a pip cache in another place), so it has a
resolver (:mod:`cachecensus.resolve.pipenv`) but no format module of its own.
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Sequence
from typing import TYPE_CHECKING

from cachecensus import tools as registry
from cachecensus.caches.base import CacheFormat
from cachecensus.models import CacheScan, Entry, Kind

if TYPE_CHECKING:
    from cachecensus.host import Host

#: Every tool with a format of its own, in the order audits list them (the registry's).
TOOLS: tuple[str, ...] = registry.with_own_format()
#: The format a tool's cache is written in (pipenv drives pip).
FORMAT_OF: dict[str, str] = {t.name: t.format for t in registry.REGISTRY}


@functools.cache
def _format_module(module: str) -> CacheFormat:
    found = importlib.import_module(f"cachecensus.caches.{module}").FORMAT
    if not isinstance(found, CacheFormat):
        raise TypeError(f"cachecensus.caches.{module}.FORMAT is no CacheFormat")
    return found


def format_for(tool: str) -> CacheFormat:
    """The format of ``tool``'s cache (``pipenv`` -> pip's). KeyError for an unknown tool.
    Each format is imported once (selection asks it for every entry)."""
    return _format_module(registry.tool(tool).format)


def named(tool: str, entries: Sequence[Entry], matched: Sequence[Entry]) -> list[tuple[Entry, str]]:
    """The format's :meth:`~CacheFormat.named`."""
    return format_for(tool).named(entries, matched)


def guard(
    tool: str, entries: Sequence[Entry], chosen: Sequence[tuple[Entry, str]]
) -> list[tuple[Entry, str]]:
    """The format's :meth:`~CacheFormat.guard`."""
    return format_for(tool).guard(entries, chosen)


def entry_path(entry: Entry) -> str:
    """The format's :meth:`~CacheFormat.entry_path`."""
    return format_for(entry.tool).entry_path(entry)


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
    for tool in registry.with_own_format():
        if tool not in (default, "pip") and format_for(tool).looks_like(host, path):
            return tool
    return default


def unmarked(tool: str, dir_fd: int) -> str | None:
    """Why nothing of ``tool``'s may be removed from the directory open at ``dir_fd``: it
    lacks the marker the tool writes in every cache of its (its format's ``marked`` and
    ``MARKER``: uv's ``CACHEDIR.TAG``, conda's ``urls.txt``...); None when it has it, or
    the format's names are strict enough alone (pip's and poetry's hashed layouts)."""
    try:
        fmt = format_for(tool)
    except KeyError:
        return f"no format for {tool}: not removing anything here"
    if fmt.marked(dir_fd):
        return None
    return f"no {fmt.TOOL} marker ({fmt.MARKER}): not removing anything here"


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
                fmt = format_for(tool)
            except KeyError:
                return None
            return index if fmt.trash_parent(parts[:index]) else None
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
