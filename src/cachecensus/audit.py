"""The audit: what every physical cache holds, counted once per inode.

Pure over scan results: given the :class:`~cachecensus.models.CacheScan` of each distinct
cache (and who uses it), work out per cache and machine-wide totals, stale and orphaned
entries, duplicated bytes (:mod:`cachecensus.duplicates`, the definition ``dedupe`` uses)
and bytes hard-linked elsewhere (present in the cache but not reclaimable by deleting it).

``files``/``size``/``physical`` have one definition for a row and the totals: the regular
files under the cache dir (never a symlink), each inode once, as ``du -sb`` counts them; the
totals are the same over every audited cache together, so they are the rows' sums less the
files hard-linked into more than one of the audited caches.
"""

from __future__ import annotations

import bisect
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from cachecensus import duplicates
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
    size: int  # apparent bytes of the regular files, each inode once (du -sb minus directories)
    physical: int  # allocated bytes
    files: int  # regular files, each inode once
    entries: int  # cache entries proper (no strays, no selfcheck)
    by_kind: dict[str, Bucket]
    projects: int
    oldest: int | None  # last-use time, epoch seconds
    newest: int | None
    used_by: tuple[Usage, ...]
    stale: Bucket
    orphaned: Bucket
    duplicated: Bucket  # copies beyond the first of an artifact stored twice (its bytes each)
    linked_elsewhere: int  # bytes whose inode has links outside this cache
    reclaimable: int  # bytes really freed by removing every entry (per inode)
    filesystem: dict[str, float] | None = None
    problems: tuple[Problem, ...] = ()
    linked_into: tuple[LinkedEnv, ...] = ()  # environments holding links to its files


@dataclass(frozen=True)
class Totals:
    caches: int
    size: int  # the rows' definition over all caches together: once per inode
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
    content hash (memoised by the caller); it is only asked for artifacts of a size another
    stored file has (:func:`cachecensus.duplicates.find`); without it nothing is duplicated.
    ``linked_into``: per cache dir, the environments holding links to its files
    (:func:`cachecensus.links.environments_linking`).
    """
    now = time.time() if now is None else now
    # each scan summarised once (duplicates, rows and totals all read its summary)
    items = [(replace(s, summary=summary_of(s)), used, owner) for s, used, owner in scans]
    duplicated = _duplicates([s for s, _, _ in items], sha256_of)
    links = linked_into or {}
    caches = [
        _audit_one(scan, used_by, owner, duplicated, now, stale_days, disk_usage)
        for scan, used_by, owner in items
    ]
    caches = [replace(c, linked_into=links[c.path]) if c.path in links else c for c in caches]
    files, size, physical, reclaimable = _shared([s for s, _, _ in items])
    return AuditReport(
        caches=tuple(caches),
        totals=Totals(
            caches=len(caches),
            size=sum(c.size for c in caches) - size,
            physical=sum(c.physical for c in caches) - physical,
            files=sum(c.files for c in caches) - files,
            entries=sum(c.entries for c in caches),
            reclaimable=sum(c.reclaimable for c in caches) + reclaimable,
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


def summarize(
    scan: CacheScan, sha256_of: Callable[[Entry], str | None] | None = None
) -> ScanSummary:
    """The audit's numbers for one scan that depend on nothing else (one pass over its
    entries): what a snapshot stores so a warm audit never reads the entries. With
    ``sha256_of``, also the copies duplicated inside the cache (:func:`own_duplicates`)."""
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
    links_here: Counter[tuple[int, int]] = Counter()
    extra_links = [0, 0, 0]  # second and later names of one file: du counts it once
    for f in {f.path: f for e in (scan.entries if linked_files else ()) for f in e.files}.values():
        links_here[_inode(f)] += 1
        if links_here[_inode(f)] > 1:
            extra_links[0] += 1
            extra_links[1] += f.size
            extra_links[2] += f.physical
    for entry in scan.entries:
        size = entry.size
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
        extra_links=(extra_links[0], extra_links[1], extra_links[2]),
        own_duplicates=None if sha256_of is None else own_duplicates(scan, sha256_of),
        linked_files=linked_files,
    )


def _stale(entries: Sequence[tuple[int, int]], now: float, after_s: float) -> tuple[int, int]:
    """(count, bytes) of the ``(last use ns, bytes)`` pairs (sorted) unused ``after_s``."""
    count = bisect.bisect_left(entries, True, key=lambda e: now - e[0] / 1e9 <= after_s)
    return count, sum(size for _, size in entries[:count])


def own_duplicates(
    scan: CacheScan, sha256_of: Callable[[Entry], str | None]
) -> tuple[tuple[str, int], ...]:
    """(key, artifact bytes) of each copy duplicated inside ``scan``'s cache alone."""
    found = duplicates.find(scan.entries, sha256_of)
    return tuple((copy.key, dup.size) for dup in found for copy in dup.extra)


def _duplicates(
    scans: list[CacheScan], sha256_of: Callable[[Entry], str | None] | None
) -> dict[str, list[tuple[str, int]]]:
    """Per cache dir, (key, artifact bytes) of its duplicated copies (the one definition of
    :mod:`cachecensus.duplicates`, the same as ``dedupe``'s). One cache whose summary knows
    its own duplicates (a snapshot's) reads no entry."""
    out: dict[str, list[tuple[str, int]]] = defaultdict(list)
    if sha256_of is None:
        return out
    if len(scans) == 1 and (known := summary_of(scans[0]).own_duplicates) is not None:
        out[scans[0].cache_dir].extend(known)
        return out
    for dup in duplicates.find((e for scan in scans for e in scan.entries), sha256_of):
        for copy in dup.extra:
            out[copy.cache_dir].append((copy.key, dup.size))
    return out


def _audit_one(
    scan: CacheScan,
    used_by: tuple[Usage, ...],
    owner: str | None,
    duplicated: Mapping[str, list[tuple[str, int]]],
    now: float,
    stale_days: float,
    disk_usage: Callable[[str], tuple[int, int, int] | None] | None,
) -> CacheAudit:
    summary = summary_of(scan)
    stale_pages = _stale(summary.index_pages, now, INDEX_PAGE_MAX_AGE_S)
    stale_rest = _stale(summary.staleable, now, stale_days * 86400)
    copies = duplicated.get(scan.cache_dir, ())
    dup = (len(copies), sum(size for _, size in copies))
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
        size=scan.size - summary.extra_links[1],
        physical=scan.physical - summary.extra_links[2],
        files=scan.files - summary.extra_links[0],
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


def _shared(scans: Sequence[CacheScan]) -> tuple[int, int, int, int]:
    """(files, size, physical, reclaimable) of the files hard-linked into more than one of
    ``scans``: the first three are what the rows count more than once (each such cache's row
    counts the file), the last what removing every entry of all of them frees for those files
    (no cache alone frees them: each row counts them as linked elsewhere). Only caches with a
    file linked twice are read (:attr:`ScanSummary.linked_files`)."""
    linked = [s for s in scans if summary_of(s).linked_files]
    if len(linked) < 2:
        return 0, 0, 0, 0
    names: dict[tuple[int, int], dict[int, set[str]]] = {}
    held: dict[tuple[int, int], FileInfo] = {}
    removable: set[tuple[int, int]] = set()
    for index, scan in enumerate(linked):
        for entry in scan.entries:
            for f in entry.files:
                if f.nlink < 2:
                    continue
                names.setdefault(_inode(f), {}).setdefault(index, set()).add(f.path)
                held[_inode(f)] = f
                if entry.kind not in (Kind.STRAY, Kind.SELFCHECK):
                    removable.add(_inode(f))
    files = size = physical = reclaimable = 0
    for inode, where in names.items():
        if len(where) < 2:
            continue
        f, extra = held[inode], len(where) - 1
        files += extra
        size += extra * f.size
        physical += extra * f.physical
        if inode in removable and f.nlink <= sum(len(paths) for paths in where.values()):
            reclaimable += f.size
    return files, size, physical, reclaimable
