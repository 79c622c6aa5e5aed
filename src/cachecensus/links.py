"""Which environments still hold hard links to a cache's files.

uv installs by hard-linking the files of an unpacked archive (``archive-v0/<id>/``) into
environments, and conda links its extracted packages the same way: such a file has a link
count above 1 and removing it from the cache frees nothing while an environment holds it.
This module finds *which* environments those are, by walking where each environment gets
its installed files (a conda prefix whole; else its ``site-packages``), with ``lstat`` only
and never through a symlink, for the inodes of cache files whose link count says they
live elsewhere too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cachecensus.host import Host
from cachecensus.models import CacheScan

#: Directories never descended into inside an environment (nothing installed lives there).
_SKIP = frozenset({"__pycache__", ".git", "node_modules"})


@dataclass(frozen=True)
class LinkedEnv:
    """One environment holding links to ``files`` files (``bytes`` bytes) of a cache."""

    environment: str  # the environment's prefix (system path)
    files: int
    bytes: int


def environments_linking(
    host: Host, scans: Iterable[CacheScan], prefixes: Sequence[str]
) -> dict[str, tuple[LinkedEnv, ...]]:
    """Per cache dir, the environments (of ``prefixes``) holding links to its files."""
    found = _found(host, scans, prefixes)
    out: dict[str, list[LinkedEnv]] = {}
    for (cache_dir, prefix), keys in sorted(found.items()):
        out.setdefault(cache_dir, []).append(
            LinkedEnv(prefix, len(keys), sum(size for _, size in keys.values()))
        )
    return {k: tuple(v) for k, v in out.items()}


def entries_linked(
    host: Host, scans: Iterable[CacheScan], prefixes: Sequence[str]
) -> dict[tuple[str, str], tuple[str, ...]]:
    """Per entry (cache dir, key), the environments (of ``prefixes``) holding links to
    any of its files: which environments still use an archive."""
    scans = list(scans)
    found = _found(host, scans, prefixes)
    if not found:
        return {}
    holders: dict[tuple[int, int], list[str]] = {}
    for (_, prefix), keys in found.items():
        for ino in keys:
            holders.setdefault(ino, []).append(prefix)
    out: dict[tuple[str, str], tuple[str, ...]] = {}
    for scan in scans:
        for entry in scan.entries:
            envs = {p for f in entry.files for p in holders.get((f.dev, f.inode), ())}
            if envs:
                out[(entry.cache_dir, entry.key)] = tuple(sorted(envs))
    return out


def _found(
    host: Host, scans: Iterable[CacheScan], prefixes: Sequence[str]
) -> dict[tuple[str, str], dict[tuple[int, int], tuple[str, int]]]:
    """(cache dir, environment prefix) -> the inodes of that cache it holds links to."""
    wanted: dict[tuple[int, int], tuple[str, int]] = {}
    by_ino: dict[int, set[int]] = {}
    if not prefixes:
        return {}
    for scan in scans:
        if scan.summary is not None and not scan.summary.linked_files:
            continue  # known without reading its entries: no file has another link
        for entry in scan.entries:
            for f in entry.files:
                if f.nlink > 1:
                    wanted[(f.dev, f.inode)] = (scan.cache_dir, f.size)
                    by_ino.setdefault(f.inode, set()).add(f.dev)
    if not wanted:
        return {}
    found: dict[tuple[str, str], dict[tuple[int, int], tuple[str, int]]] = {}
    for prefix in dict.fromkeys(prefixes):
        for top in _where_installed(host.real(prefix)):
            for ino in _inodes_under(top, by_ino):
                found.setdefault((wanted[ino][0], prefix), {})[ino] = wanted[ino]
    return found


def _where_installed(real_prefix: str) -> list[str]:
    """Where an installer links files into an environment: all of a conda prefix (packages
    install into ``bin/``, ``lib/``, ``include/``...), else its ``site-packages`` and
    ``dist-packages`` dirs (never all of ``/usr`` for a system Python)."""
    import glob

    real_prefix = os.path.realpath(real_prefix)
    if os.path.isdir(os.path.join(real_prefix, "conda-meta")):
        return [real_prefix]
    found: list[str] = []
    for pattern in ("lib*/python*/site-packages", "lib*/python*/dist-packages"):
        found += sorted(glob.glob(os.path.join(glob.escape(real_prefix), pattern)))
    # only directories reached without a symlink (a venv's lib64 -> lib is walked once)
    return [p for p in dict.fromkeys(found) if os.path.realpath(p) == p]


def _inodes_under(top: str, by_ino: dict[int, set[int]]) -> set[tuple[int, int]]:
    """(dev, inode) pairs of regular files under ``top`` that ``by_ino`` asks for."""
    hits: set[tuple[int, int]] = set()
    stack = [top]
    while stack:
        path = stack.pop()
        try:
            with os.scandir(path) as it:
                for entry in it:
                    try:
                        if entry.is_dir(follow_symlinks=False):
                            if entry.name not in _SKIP:
                                stack.append(entry.path)
                            continue
                        devs = by_ino.get(entry.inode())
                        if devs is None:
                            continue
                        st = entry.stat(follow_symlinks=False)
                    except OSError:
                        continue
                    if st.st_dev in devs and st.st_nlink > 1:
                        hits.add((st.st_dev, st.st_ino))
        except OSError:
            continue
    return hits
