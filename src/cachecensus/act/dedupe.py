"""Duplicates: the same artifact (same sha256) stored more than once, in one cache or
several (what counts as a duplicate is :mod:`cachecensus.duplicates`, shared with the audit).

Only artifacts that are whole files can be linked: an ``http-v2`` ``.body`` and a built
``.whl``. A legacy ``http/`` body lives inside its record and is reported, not linked.
Linking replaces a copy by a hard link to the first copy, and only where both files
have the same owner and filesystem: a link never crosses owners (one user's deletion
must not change another's cache, and quota must stay with its owner).
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from cachecensus import duplicates
from cachecensus.artifacts import (
    artifact_file,
    file_sha256,
    sha256_of,
)
from cachecensus.host import Host
from cachecensus.models import CacheScan, Entry, FileInfo


@dataclass(frozen=True)
class Group:
    sha256: str
    size: int
    project: str | None
    version: str | None
    copies: tuple[Entry, ...]

    @property
    def wasted(self) -> int:
        """Duplicated bytes, as :class:`cachecensus.duplicates.Duplicate` counts them."""
        return duplicates.Duplicate(self.sha256, self.size, self.copies).wasted

    def pairs(self) -> list[tuple[FileInfo, FileInfo]]:
        """(keeper, copy) pairs that may be linked: same owner, same filesystem."""
        files = [f for e in self.copies if (f := artifact_file(e)) is not None]
        if not files:
            return []
        keeper = files[0]  # the first copy stays; same-owner, same-filesystem copies link to it
        return [
            (keeper, copy)
            for copy in files[1:]
            if (copy.dev, copy.inode) != (keeper.dev, keeper.inode)
            and copy.dev == keeper.dev
            and copy.uid == keeper.uid
        ]

    @property
    def linkable(self) -> int:
        return self.size * len(self.pairs())

    def as_json(self) -> dict[str, Any]:
        return {
            "sha256": self.sha256,
            "size": self.size,
            "project": self.project,
            "version": self.version,
            "wasted_bytes": self.wasted,
            "linkable_bytes": self.linkable,
            "copies": [
                {"cache_dir": e.cache_dir, "path": e.files[-1].path, "area": e.area}
                for e in self.copies
            ],
        }


def find_duplicates(host: Host, scans: Sequence[CacheScan]) -> list[Group]:
    """Artifacts stored more than once (:func:`cachecensus.duplicates.find`: hashing only
    equal sizes; hard links of one copy are one copy)."""
    entries = [entry for result in scans for entry in result.entries]
    return [
        Group(d.sha256, d.size, d.copies[0].project, d.copies[0].version, d.copies)
        for d in duplicates.find(entries, lambda e: sha256_of(host, e))
    ]


@dataclass
class LinkResult:
    linked: list[str] = field(default_factory=list)
    freed: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _hash_file(path: str) -> str | None:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError:
        return None
    try:
        return file_sha256(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


def link_duplicates(host: Host, groups: Sequence[Group]) -> LinkResult:
    """Replace each linkable copy by a hard link to its keeper, atomically (link to a
    temporary name, then rename over the copy), after checking both still hold the
    hashed content and neither path goes through a symlink."""
    result = LinkResult()
    for group in groups:
        for keeper, copy in group.pairs():
            real_keeper, real_copy = host.real(keeper.path), host.real(copy.path)
            if (
                os.path.realpath(real_keeper) != real_keeper
                or os.path.realpath(real_copy) != real_copy
            ):
                result.skipped.append((copy.path, "a symlink on the way: not followed"))
                continue
            try:
                st = os.lstat(real_copy)
            except OSError as exc:
                result.skipped.append((copy.path, exc.strerror or str(exc)))
                continue
            if not stat.S_ISREG(st.st_mode) or (st.st_dev, st.st_ino) != (copy.dev, copy.inode):
                result.skipped.append((copy.path, "changed since the scan"))
                continue
            if _hash_file(real_keeper) != group.sha256 or _hash_file(real_copy) != group.sha256:
                result.skipped.append((copy.path, "content changed since the scan"))
                continue
            tmp = f"{real_copy}.cachecensus-link"
            try:
                os.link(real_keeper, tmp, follow_symlinks=False)
                os.replace(tmp, real_copy)
            except OSError as exc:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                result.skipped.append((copy.path, exc.strerror or str(exc)))
                continue
            result.linked.append(copy.path)
            if st.st_nlink == 1:
                result.freed += group.size
    return result
