"""The audit's accounting: once per inode, hard links elsewhere, duplicates, staleness."""

from __future__ import annotations

from cachecensus.audit import INDEX_PAGE_MAX_AGE_S, audit
from cachecensus.models import CacheScan, Entry, FileInfo, Kind, Usage

NOW = 1_800_000_000.0
DAY = 86400


def fi(path: str, size: int, inode: int, *, nlink: int = 1, age_days: float = 1) -> FileInfo:
    t = int((NOW - age_days * DAY) * 1e9)
    return FileInfo(
        path=path,
        size=size,
        physical=4096 * (1 + size // 4096),
        inode=inode,
        dev=1,
        nlink=nlink,
        uid=0,
        mtime_ns=t,
        atime_ns=t,
    )


def entry(cache: str, key: str, kind: Kind, files: tuple[FileInfo, ...], **kw: object) -> Entry:
    return Entry(
        tool="pip",
        cache_dir=cache,
        area="http-v2",
        key=key,
        kind=kind,
        files=files,
        **kw,  # type: ignore[arg-type]
    )


def scan_of(cache: str, entries: list[Entry]) -> CacheScan:
    files = [f for e in entries for f in e.files]
    return CacheScan(
        tool="pip",
        cache_dir=cache,
        exists=True,
        entries=tuple(entries),
        files=len(files),
        size=sum(f.size for f in files),
        physical=sum(f.physical for f in files),
    )


def test_hard_links_elsewhere_are_not_reclaimable() -> None:
    wheel = entry(
        "/c", "a", Kind.WHEEL, (fi("/c/a", 50, 1), fi("/c/a.body", 1000, 2, nlink=2)), project="six"
    )
    report = audit([(scan_of("/c", [wheel]), (), "root")], now=NOW)
    (c,) = report.caches
    assert c.linked_elsewhere == 1000  # the body's other link lives outside this cache
    assert c.reclaimable == 50
    assert report.totals.reclaimable == 50


def test_links_inside_the_audited_caches_count_once() -> None:
    # the same inode reached from two caches (cp -al between them): stored once
    one = entry("/c1", "a", Kind.WHEEL, (fi("/c1/a.body", 1000, 7, nlink=2),), project="six")
    two = entry("/c2", "a", Kind.WHEEL, (fi("/c2/a.body", 1000, 7, nlink=2),), project="six")
    report = audit([(scan_of("/c1", [one]), (), None), (scan_of("/c2", [two]), (), None)], now=NOW)
    assert report.totals.size == 1000  # once per inode, machine-wide
    assert report.totals.files == 1
    # each cache alone cannot free it while the other cache's link lives ...
    assert all(c.reclaimable == 0 and c.linked_elsewhere == 1000 for c in report.caches)
    # ... but removing both frees it, once
    assert report.totals.reclaimable == 1000


def test_duplicates_across_caches_by_content_hash() -> None:
    a = entry(
        "/c1",
        "k1",
        Kind.WHEEL,
        (fi("/c1/k1", 40, 1), fi("/c1/k1.body", 900, 2)),
        project="six",
        version="1.16.0",
    )
    b = entry(
        "/c2",
        "k2",
        Kind.WHEEL,
        (fi("/c2/k2", 40, 3), fi("/c2/k2.body", 900, 4)),
        project="six",
        version="1.16.0",
    )
    c = entry(
        "/c2",
        "k3",
        Kind.WHEEL,
        (fi("/c2/k3", 40, 5), fi("/c2/k3.body", 900, 6)),
        project="idna",
        version="3.7",
    )
    asked: list[str] = []

    def sha(e: Entry) -> str:
        asked.append(e.key)
        return "same" if e.project == "six" else "other"

    report = audit(
        [(scan_of("/c1", [a]), (), None), (scan_of("/c2", [b, c]), (), None)],
        sha256_of=sha,
        now=NOW,
    )
    by_path = {x.path: x for x in report.caches}
    assert by_path["/c1"].duplicated.entries == 0  # the first copy is the original
    assert by_path["/c2"].duplicated.entries == 1
    assert by_path["/c2"].duplicated.bytes == 940
    assert report.totals.duplicated.entries == 1  # the same wheel in two caches: once
    assert sorted(asked) == ["k1", "k2", "k3"]  # only same-size artifacts were hashed


def test_one_cache_hashes_nothing() -> None:
    a = entry("/c1", "k1", Kind.WHEEL, (fi("/c1/k1.body", 900, 2),), project="six")
    b = entry("/c1", "k2", Kind.WHEEL, (fi("/c1/k2.body", 900, 3),), project="six")

    def sha(e: Entry) -> str:
        raise AssertionError("no hashing needed for a single cache")

    report = audit([(scan_of("/c1", [a, b]), (), None)], sha256_of=sha, now=NOW)
    assert report.caches[0].duplicated.entries == 0


def test_stale_orphaned_and_kinds() -> None:
    fresh_page = entry(
        "/c",
        "p1",
        Kind.INDEX_PAGE,
        (fi("/c/p1", 300, 1, age_days=(INDEX_PAGE_MAX_AGE_S / 2) / DAY),),
        project="six",
    )
    old_page = entry(
        "/c", "p2", Kind.INDEX_PAGE, (fi("/c/p2", 300, 2, age_days=2),), project="idna"
    )
    old_wheel = entry("/c", "w", Kind.WHEEL, (fi("/c/w", 10, 3, age_days=200),), project="six")
    orphan = entry("/c", "o", Kind.ORPHAN, (fi("/c/o.body", 77, 4),))
    stray = entry("/c", "s", Kind.STRAY, (fi("/c/notes.txt", 5, 5),))
    report = audit(
        [
            (
                scan_of("/c", [fresh_page, old_page, old_wheel, orphan, stray]),
                (Usage("root", "/usr/bin/python3"),),
                "root",
            )
        ],
        now=NOW,
    )
    (c,) = report.caches
    assert c.entries == 4  # the stray file is not a cache entry
    assert c.files == 5 and c.size == 692  # but it is a file under the dir
    assert c.stale.entries == 2 and c.stale.bytes == 310  # old index page + unused wheel
    assert c.orphaned.entries == 1 and c.orphaned.bytes == 77
    assert c.projects == 2
    assert c.by_kind["stray"].entries == 1
    assert c.reclaimable == 687  # everything but the stray
    assert c.used_by == (Usage("root", "/usr/bin/python3"),)
