"""What a duplicate is: the one definition ``audit`` and ``dedupe`` share.

An artifact (a distribution file: :mod:`cachecensus.artifacts`) is *duplicated* when its
content (sha256) is stored in more than one file: in two caches, or twice in one (pip keys
its HTTP cache by URL, so one wheel fetched through two index URLs is stored twice). Copies
that are hard links of one another (the same inode) are one stored file: never counted, so
after ``dedupe --link`` nothing it linked is duplicated any more. An artifact inside a legacy
pip ``http/`` record has no file of its own and is one stored copy per record.

The duplicated bytes of an artifact are its size times the stored files beyond the first;
the first copy (in the order the entries were given: cache by cache, as scanned) is the one
kept, every other stored file is attributed to its own cache. Only artifacts of equal size
are hashed, and not those whose equal-size copies are all one inode.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from cachecensus.artifacts import artifact_file, artifact_size
from cachecensus.models import Entry


def stored_copies(copies: Sequence[Entry]) -> list[Entry]:
    """One entry per stored file among ``copies`` (in order): the first of each artifact
    inode; each legacy record (its artifact inside it) on its own."""
    seen: set[tuple[int, int]] = set()
    out: list[Entry] = []
    for entry in copies:
        found = artifact_file(entry)
        if found is not None:
            inode = (found.dev, found.inode)
            if inode in seen:
                continue
            seen.add(inode)
        out.append(entry)
    return out


@dataclass(frozen=True)
class Duplicate:
    """One artifact stored more than once: ``copies`` are every entry holding it (hard links
    of one another included), the kept one first."""

    sha256: str
    size: int  # the artifact's bytes
    copies: tuple[Entry, ...]

    @property
    def extra(self) -> tuple[Entry, ...]:
        """The copies that are duplicated bytes: every stored file but the first."""
        return tuple(stored_copies(self.copies)[1:])

    @property
    def wasted(self) -> int:
        """Bytes stored beyond the first copy (hard links to a copy are free)."""
        return self.size * len(self.extra)


def _same_size(entries: Iterable[Entry]) -> dict[int, list[Entry]]:
    """Artifacts by size, those held by two stored files or more only (the only ones that
    may be duplicates: hashing the others would be wasted)."""
    by_size: dict[int, list[Entry]] = {}
    for entry in entries:
        size = artifact_size(entry)
        if size is not None:
            by_size.setdefault(size, []).append(entry)
    return {s: group for s, group in by_size.items() if len(stored_copies(group)) > 1}


def find(entries: Iterable[Entry], sha256_of: Callable[[Entry], str | None]) -> list[Duplicate]:
    """Every artifact among ``entries`` stored more than once (see the module doc), by size
    then in the order met. ``sha256_of`` is asked only for artifacts that have an equal-size
    copy in another stored file (an entry's own ``sha256`` is used when the scan knew it)."""
    found: list[Duplicate] = []
    for size, same_size in sorted(_same_size(entries).items()):
        by_hash: dict[str, list[Entry]] = {}
        per_inode: dict[tuple[int, int], str | None] = {}  # a linked copy is hashed once
        for entry in same_size:
            held = artifact_file(entry)
            inode = None if held is None else (held.dev, held.inode)
            if entry.sha256:
                digest: str | None = entry.sha256
            elif inode is not None and inode in per_inode:
                digest = per_inode[inode]
            else:
                digest = sha256_of(entry)
            if inode is not None:
                per_inode.setdefault(inode, digest)
            if digest:
                by_hash.setdefault(digest, []).append(entry)
        for digest, copies in by_hash.items():
            dup = Duplicate(digest, abs(size), tuple(copies))
            if dup.extra:
                found.append(dup)
    return found
