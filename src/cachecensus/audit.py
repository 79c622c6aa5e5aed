"""The audit: what every physical cache holds, counted once per inode.

Pure over scan results: given the :class:`~cachecensus.models.CacheScan` of each distinct
cache (and who uses it), work out per cache and machine-wide totals, stale and orphaned
entries, bytes duplicated across caches (same sha256) and bytes hard-linked elsewhere
(present in the cache but not reclaimable by deleting it).
"""

from __future__ import annotations

import bisect
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cachecensus.artifacts import artifact_size
from cachecensus.links import LinkedEnv
from cachecensus.models import CacheScan, Entry, FileInfo, Kind, Problem, ScanSummary, Usage

#: Kinds that are cache entries proper (what a purge would remove), of every format: an
#: entry of these kinds unused for ``stale_days`` is stale.
STALEABLE_KINDS = frozenset(
    {
        Kind.WHEEL,
        Kind.SDIST,
        Kind.INDEX_PAGE,
        Kind.BUILT_WHEEL,
        Kind.UNKNOWN,
        Kind.CORRUPT,
        Kind.ARCHIVE,
        Kind.PACKAGE,
        Kind.METADATA,
        Kind.ENVIRONMENT,
        Kind.SOURCE,
    }
)
#: Kinds whose bytes are wasted outright: half entries pip will never serve.
ORPHAN_KINDS = frozenset({Kind.ORPHAN, Kind.CORRUPT})
#: pip revalidates index pages after their max-age (PyPI: 600 s); older ones are stale.
INDEX_PAGE_MAX_AGE_S = 600
DEFAULT_STALE_DAYS = 90


@dataclass(frozen=True)
class Bucket:
    entries: int = 0
    bytes: int = 0


@dataclass(frozen=True)
class CacheAudit:
    tool: str
    path: str
    exists: bool
    owner: str | None
    size: int  # apparent bytes of every regular file (du -sb minus directories)
    physical: int  # allocated bytes
    files: int
    entries: int  # cache entries proper (no strays, no selfcheck)
    by_kind: dict[str, Bucket]
    projects: int
    oldest: int | None  # last-use time, epoch seconds
    newest: int | None
    used_by: tuple[Usage, ...]
    stale: Bucket
    orphaned: Bucket
    duplicated: Bucket  # artifacts whose content also lives in another cache
    linked_elsewhere: int  # bytes whose inode has links outside this cache
    reclaimable: int  # bytes really freed by removing every entry (per inode)
    filesystem: dict[str, float] | None = None
    problems: tuple[Problem, ...] = ()
    linked_into: tuple[LinkedEnv, ...] = ()  # environments holding links to its files


@dataclass(frozen=True)
class Totals:
    caches: int
    size: int  # once per inode across all caches
    physical: int
    files: int
    entries: int
    reclaimable: int
    duplicated: Bucket
    stale: Bucket
    orphaned: Bucket


@dataclass(frozen=True)
class AuditReport:
    caches: tuple[CacheAudit, ...]
    totals: Totals
    problems: tuple[Problem, ...] = field(default_factory=tuple)


def _inode(f: FileInfo) -> tuple[int, int]:
    return (f.dev, f.inode)


def audit(
    scans: Iterable[tuple[CacheScan, tuple[Usage, ...], str | None]],
    *,
    sha256_of: Callable[[Entry], str | None] | None = None,
    disk_usage: Callable[[str], tuple[int, int, int] | None] | None = None,
    now: float | None = None,
    stale_days: float = DEFAULT_STALE_DAYS,
    linked_into: Mapping[str, tuple[LinkedEnv, ...]] | None = None,
) -> AuditReport:
    """Audit scanned caches: ``(scan, used_by, owner)`` for each distinct physical cache.

    Per-cache numbers come from each scan's :class:`~cachecensus.models.ScanSummary`
    (:func:`summarize`d here when the scan has none). ``sha256_of`` gives an artifact's
    content hash (memoised by the caller); it is only asked for artifacts whose size matches
    an artifact in *another* cache, so a machine with one cache hashes nothing.
    ``linked_into``: per cache dir, the environments holding links to its files
    (:func:`cachecensus.links.environments_linking`).
    """
    now = time.time() if now is None else now
    items = list(scans)
    duplicated = _duplicates([s for s, _, _ in items], sha256_of)
    links = linked_into or {}
    caches = [
        _audit_one(scan, used_by, owner, duplicated, now, stale_days, disk_usage)
        for scan, used_by, owner in items
    ]
    caches = [replace(c, linked_into=links[c.path]) if c.path in links else c for c in caches]
    if len(items) == 1:
        size, physical, files, reclaimable = summary_of(items[0][0]).alone
    else:
        size, physical, files, reclaimable = _inode_totals([s for s, _, _ in items])
    return AuditReport(
        caches=tuple(caches),
        totals=Totals(
            caches=len(caches),
            size=size,
            physical=physical,
            files=files,
            entries=sum(c.entries for c in caches),
            reclaimable=reclaimable,
            duplicated=_sum(c.duplicated for c in caches),
            stale=_sum(c.stale for c in caches),
            orphaned=_sum(c.orphaned for c in caches),
        ),
    )


def _sum(buckets: Iterable[Bucket]) -> Bucket:
    entries = size = 0
    for b in buckets:
        entries += b.entries
        size += b.bytes
    return Bucket(entries, size)


def summary_of(scan: CacheScan) -> ScanSummary:
    """The scan's summary: the one it carries (a snapshot's), else :func:`summarize`."""
    return scan.summary if scan.summary is not None else summarize(scan)


def summarize(scan: CacheScan) -> ScanSummary:
    """The audit's numbers for one scan that depend on nothing else (one pass over its
    entries): what a snapshot stores so a warm audit never reads the entries."""
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    projects: set[str] = set()
    orphaned = [0, 0]
    staleable: list[tuple[int, int]] = []
    index_pages: list[tuple[int, int]] = []
    counted: set[tuple[int, int]] = set()
    linked_elsewhere = reclaimable = entries = 0
    oldest: int | None = None
    newest: int | None = None
    # with no file linked twice, every file is its own inode: no per-inode bookkeeping
    linked_files = any(f.nlink > 1 for e in scan.entries for f in e.files)
    links_here: Counter[tuple[int, int]] = Counter(
        _inode(f)
        for e in (scan.entries if linked_files else ())
        for f in {x.path: x for x in e.files}.values()
    )
    all_size = all_physical = all_files = 0
    for entry in scan.entries:
        size = entry.size
        all_size += size
        all_physical += entry.physical
        all_files += len(entry.files)
        bucket = by_kind[entry.kind.value]
        bucket[0] += 1
        bucket[1] += size
        if entry.kind in (Kind.STRAY, Kind.SELFCHECK):
            continue
        entries += 1
        if entry.project:
            projects.add(entry.project)
        last = entry.last_used_ns
        seconds = last // 1_000_000_000
        oldest = seconds if oldest is None or seconds < oldest else oldest
        newest = seconds if newest is None or seconds > newest else newest
        if entry.kind == Kind.INDEX_PAGE:
            index_pages.append((last, size))
        elif entry.kind in STALEABLE_KINDS:
            staleable.append((last, size))
        if entry.kind in ORPHAN_KINDS:
            orphaned[0] += 1
            orphaned[1] += size
        if not linked_files:
            reclaimable += size
            continue
        for f in entry.files:
            ino = _inode(f)
            if ino in counted:
                continue
            counted.add(ino)
            if f.nlink > links_here[ino]:  # a link outside this cache keeps it alive
                linked_elsewhere += f.size
            else:
                reclaimable += f.size
    return ScanSummary(
        by_kind=tuple((k, v[0], v[1]) for k, v in sorted(by_kind.items())),
        entries=entries,
        projects=tuple(sorted(projects)),
        oldest=oldest,
        newest=newest,
        staleable=tuple(sorted(staleable)),
        index_pages=tuple(sorted(index_pages)),
        orphaned=(orphaned[0], orphaned[1]),
        linked_elsewhere=linked_elsewhere,
        reclaimable=reclaimable,
        alone=(
            _inode_totals([scan])
            if linked_files
            else (all_size, all_physical, all_files, reclaimable)
        ),
        linked_files=linked_files,
    )


def _stale(entries: Sequence[tuple[int, int]], now: float, after_s: float) -> tuple[int, int]:
    """(count, bytes) of the ``(last use ns, bytes)`` pairs (sorted) unused ``after_s``."""
    count = bisect.bisect_left(entries, True, key=lambda e: now - e[0] / 1e9 <= after_s)
    return count, sum(size for _, size in entries[:count])


def _duplicates(
    scans: list[CacheScan], sha256_of: Callable[[Entry], str | None] | None
) -> dict[str, set[str]]:
    """Per cache dir, the keys of artifacts whose content also lives in another cache."""
    out: dict[str, set[str]] = defaultdict(set)
    if sha256_of is None or len(scans) < 2:
        return out
    by_size: dict[int, list[Entry]] = defaultdict(list)
    for scan in scans:
        for entry in scan.entries:
            size = artifact_size(entry)
            if size is not None:
                by_size[size].append(entry)
    for group in by_size.values():
        if len({e.cache_dir for e in group}) < 2:
            continue
        by_hash: dict[str, list[Entry]] = defaultdict(list)
        for entry in group:
            digest = entry.sha256 or sha256_of(entry)
            if digest:
                by_hash[digest].append(entry)
        for same in by_hash.values():
            if len({e.cache_dir for e in same}) > 1:
                # the first cache keeps the "original"; every other copy is a duplicate
                first = min(e.cache_dir for e in same)
                for e in same:
                    if e.cache_dir != first:
                        out[e.cache_dir].add(e.key)
    return out


def _audit_one(
    scan: CacheScan,
    used_by: tuple[Usage, ...],
    owner: str | None,
    duplicated: Mapping[str, set[str]],
    now: float,
    stale_days: float,
    disk_usage: Callable[[str], tuple[int, int, int] | None] | None,
) -> CacheAudit:
    summary = summary_of(scan)
    stale_pages = _stale(summary.index_pages, now, INDEX_PAGE_MAX_AGE_S)
    stale_rest = _stale(summary.staleable, now, stale_days * 86400)
    dup = [0, 0]
    dup_keys = duplicated.get(scan.cache_dir)
    if dup_keys:
        for entry in scan.entries:
            if entry.key in dup_keys and entry.kind not in (Kind.STRAY, Kind.SELFCHECK):
                dup[0] += 1
                dup[1] += entry.size
    fs = disk_usage(scan.cache_dir) if disk_usage and scan.exists else None
    filesystem = (
        {"total": fs[0], "used": fs[1], "free": fs[2], "share": scan.physical / fs[0]}
        if fs and fs[0]
        else None
    )
    return CacheAudit(
        tool=scan.tool,
        path=scan.cache_dir,
        exists=scan.exists,
        owner=owner,
        size=scan.size,
        physical=scan.physical,
        files=scan.files,
        entries=summary.entries,
        by_kind={k: Bucket(n, size) for k, n, size in summary.by_kind},
        projects=len(summary.projects),
        oldest=summary.oldest,
        newest=summary.newest,
        used_by=used_by,
        stale=Bucket(stale_pages[0] + stale_rest[0], stale_pages[1] + stale_rest[1]),
        orphaned=Bucket(*summary.orphaned),
        duplicated=Bucket(*dup),
        linked_elsewhere=summary.linked_elsewhere,
        reclaimable=summary.reclaimable,
        filesystem=filesystem,
        problems=scan.problems,
    )


def _inode_totals(scans: Sequence[CacheScan]) -> tuple[int, int, int, int]:
    """(size, physical, files, reclaimable) of ``scans`` together, each inode counted once
    however many caches hold it; reclaimable = what removing every entry frees (no link left
    outside these caches)."""
    links_inside: Counter[tuple[int, int]] = Counter()
    for scan in scans:
        seen_here: set[tuple[str, tuple[int, int]]] = set()
        for entry in scan.entries:
            for f in entry.files:
                if (f.path, _inode(f)) not in seen_here:
                    seen_here.add((f.path, _inode(f)))
                    links_inside[_inode(f)] += 1
    seen: set[tuple[int, int]] = set()
    size = physical = files = reclaimable = 0
    for scan in scans:
        for entry in scan.entries:
            for f in entry.files:
                if _inode(f) in seen:
                    continue
                seen.add(_inode(f))
                size += f.size
                physical += f.physical
                files += 1
                if (
                    entry.kind not in (Kind.STRAY, Kind.SELFCHECK)
                    and f.nlink <= links_inside[_inode(f)]
                ):
                    reclaimable += f.size
    return size, physical, files, reclaimable
