"""The audit's accounting: once per inode, hard links elsewhere, duplicates, staleness."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace

from cachecensus.audit import INDEX_PAGE_MAX_AGE_S, Bucket, audit, summarize
from cachecensus.duplicates import find
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
    assert by_path["/c2"].duplicated.bytes == 900  # the wheel's bytes (its record is not)
    assert report.totals.duplicated.entries == 1  # the same wheel in two caches: once
    assert sorted(asked) == ["k1", "k2", "k3"]  # only same-size artifacts were hashed


def _copy(cache: str, key: str, inode: int, size: int = 900) -> Entry:
    files = (fi(f"{cache}/{key}", 40, inode + 1000), fi(f"{cache}/{key}.body", size, inode))
    return entry(cache, key, Kind.WHEEL, files, project="six", version="1.16.0")


def test_audit_and_dedupe_share_one_definition_of_a_duplicate() -> None:
    """One wheel stored twice in one cache (fetched through two index URLs: pip keys its
    HTTP cache by URL) is duplicated as much as across caches: audit and dedupe agree."""
    one = _copy("/c1", "k1", 1)
    two = _copy("/c1", "k2", 2)  # the same wheel under another URL, in the same cache
    three = _copy("/c2", "k3", 3)
    scans = [scan_of("/c1", [one, two]), scan_of("/c2", [three])]
    report = audit([(s, (), None) for s in scans], sha256_of=lambda e: "same", now=NOW)
    (dup,) = find([one, two, three], lambda e: "same")
    assert dup.wasted == 1800 == report.totals.duplicated.bytes
    assert [(c.path, c.duplicated) for c in report.caches] == [
        ("/c1", Bucket(1, 900)),
        ("/c2", Bucket(1, 900)),
    ]
    # alone, the first cache still holds one duplicated copy
    alone = audit([(scans[0], (), None)], sha256_of=lambda e: "same", now=NOW)
    assert alone.totals.duplicated == Bucket(1, 900)


def test_hard_linked_copies_are_never_duplicated() -> None:
    """After ``dedupe --link`` the copies are one inode: nothing is duplicated any more,
    and nothing is hashed (equal-size copies of one inode cannot differ)."""
    one = _copy("/c1", "k1", 7)
    two = _copy("/c2", "k2", 7)  # a hard link of the first body

    def sha(e: Entry) -> str:
        raise AssertionError("one stored file needs no hash")

    report = audit(
        [(scan_of("/c1", [one]), (), None), (scan_of("/c2", [two]), (), None)],
        sha256_of=sha,
        now=NOW,
    )
    assert report.totals.duplicated == Bucket(0, 0)
    assert find([one, two], sha) == []


class _Unread(Sequence[Entry]):
    """Entries that must not be read (a snapshot's, loaded only when used)."""

    def __init__(self, count: int) -> None:
        self.count = count

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: object) -> Entry:  # type: ignore[override]
        raise AssertionError("entries were read")

    def __iter__(self) -> Iterator[Entry]:
        raise AssertionError("entries were read")


def test_a_warm_audit_of_one_cache_reads_no_entry_for_duplicates() -> None:
    """A snapshot's summary knows the copies duplicated inside its cache (its files never
    change while the snapshot holds), so a warm audit of it loads no entry to find them."""
    a, b, c = _copy("/c1", "k1", 1), _copy("/c1", "k2", 2), _copy("/c1", "k3", 3, size=901)
    walked = scan_of("/c1", [a, b, c])
    summary = summarize(walked, lambda e: "same")
    assert summary.own_duplicates == (("k2", 900),)
    assert summarize(walked).own_duplicates is None  # nothing to hash with: not known
    warm = replace(walked, entries=_Unread(3), summary=summary)
    report = audit([(warm, (), None)], sha256_of=lambda e: "same", now=NOW)
    assert report.totals.duplicated == Bucket(1, 900)
    cold = audit([(walked, (), None)], sha256_of=lambda e: "same", now=NOW)
    assert cold.totals.duplicated == report.totals.duplicated


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


def test_rows_and_totals_count_files_one_way() -> None:
    """A row counts the regular files under its cache dir, each inode once (``du -sb``: a
    symlink is no file, a second name of a file adds nothing); the totals count the same
    over all caches together: the rows' sums less what two caches share. Never a symlink
    counted in the totals only (uv's wheel pointers once made 100 + 254 files total 361)."""
    c1_record, c1_body = fi("/c1/k", 40, 1), fi("/c1/k.body", 900, 2, nlink=2)
    pointer = fi("/c1/wheels/six", 30, 3)  # a symlink: an entry's file, not a regular file
    c1 = [
        entry("/c1", "k", Kind.WHEEL, (c1_record, c1_body), project="six"),
        entry("/c1", "wheels/six", Kind.STRAY, (pointer,)),
    ]
    c2_record = fi("/c2/k", 40, 4, nlink=2)
    c2 = [
        entry("/c2", "k", Kind.WHEEL, (c2_record, fi("/c2/k.body", 900, 2, nlink=2))),
        entry("/c2", "copy", Kind.STRAY, (fi("/c2/copy", 40, 4, nlink=2),)),  # 2nd name
    ]
    walked = [  # what the walk counts: every regular file's name (never the symlink)
        CacheScan("pip", "/c1", True, tuple(c1), files=2, size=940, physical=8192),
        CacheScan("pip", "/c2", True, tuple(c2), files=3, size=980, physical=12288),
    ]
    report = audit([(s, (), None) for s in walked], now=NOW)
    rows = {c.path: (c.files, c.size, c.physical) for c in report.caches}
    assert rows == {"/c1": (2, 940, 8192), "/c2": (2, 940, 8192)}  # inode 4 once
    t = report.totals
    assert (t.files, t.size, t.physical) == (3, 980, 12288)  # inodes 1, 2 and 4
    shared = 900  # the body both caches hold: counted in both rows, once in the totals
    assert t.size == sum(c.size for c in report.caches) - shared
    assert t.files == sum(c.files for c in report.caches) - 1
    # neither cache alone frees the shared body; removing both does, once
    assert [c.reclaimable for c in report.caches] == [40, 40]
    assert t.reclaimable == 40 + 40 + shared
    alone = audit([(walked[0], (), None)], now=NOW).totals
    assert (alone.files, alone.size) == (2, 940)  # one cache: its row, symlink left out


def test_totals_without_hard_links_are_the_rows_sums() -> None:
    a = entry("/a", "x", Kind.WHEEL, (fi("/a/x", 10, 11),))
    b = entry("/b", "y", Kind.WHEEL, (fi("/b/y", 20, 12),))
    report = audit([(scan_of("/a", [a]), (), None), (scan_of("/b", [b]), (), None)], now=NOW)
    assert (report.totals.files, report.totals.size) == (2, 30)
    assert report.totals.size == sum(c.size for c in report.caches)
