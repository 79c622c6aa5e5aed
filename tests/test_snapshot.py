"""snapshot.py: a warm read of an unchanged pip cache stats its directories only, and any
change a directory shows (new, removed, renamed file; chmod; a symlink swapped in) sends
the next run back to a full walk."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cachecensus import snapshot
from cachecensus.audit import audit, summarize
from cachecensus.caches.base import DirStamp
from cachecensus.caches.pip import scan
from cachecensus.host import Host
from cachecensus.memo import Memo, open_memo
from cachecensus.models import CacheScan, Entry, Kind

HOST = Host.local()
CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
LATER = 10 * 1_000_000_000  # a walk "started" this long after the files were written


def _walk(cache: str, memo: Memo) -> tuple[CacheScan, list[DirStamp]]:
    dirs: list[DirStamp] = []
    return scan(HOST, cache, memo=memo, workers=1, dirs=dirs), dirs


def _saved(cache: str, memo: Memo) -> tuple[CacheScan, int]:
    """Walk ``cache`` and keep it, as if the walk had started :data:`LATER` from now."""
    walked, dirs = _walk(cache, memo)
    started = time.time_ns() + LATER
    kept = snapshot.save(memo, "pip", cache, cache, walked, dirs, started)
    assert kept.snapshot is not None
    return walked, started


def _load(
    cache: str, memo: Memo, started: int, rescans: list[int] | None = None
) -> CacheScan | None:
    def rescan() -> CacheScan:
        if rescans is not None:
            rescans.append(1)
        return scan(HOST, cache, workers=1)

    return snapshot.load(memo, "pip", cache, cache, rescan, now_ns=started + 1)


def _what(e: Entry) -> tuple[str, str, str | None, str | None, tuple[str, ...]]:
    return (e.key, e.kind.value, e.project, e.version, tuple(f.path for f in e.files))


@pytest.fixture
def pip_cache(real_caches: Path) -> str:
    return str(real_caches / "pip-26.3")


def test_walk_stamps_every_directory_before_reading_it(pip_cache: str, tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "m.db"))
    walked, dirs = _walk(pip_cache, memo)
    memo.close()
    expected = {""} | {
        os.path.relpath(d, pip_cache) for d, _, _ in os.walk(pip_cache) if d != pip_cache
    }
    assert {d[0] for d in dirs} == expected
    top = os.stat(pip_cache)
    assert ("", top.st_ino, top.st_mtime_ns, top.st_ctime_ns) in dirs
    assert walked.files == sum(len(f) for _, _, f in os.walk(pip_cache))


def test_unchanged_cache_is_read_back_whole(pip_cache: str, tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "m.db"))
    walked, started = _saved(pip_cache, memo)
    rescans: list[int] = []
    kept = _load(pip_cache, memo, started, rescans)
    memo.close()
    assert kept is not None and kept.snapshot is not None
    assert (kept.files, kept.size, kept.physical) == (walked.files, walked.size, walked.physical)
    assert kept.summary is None  # no audit has stored one yet
    assert len(kept.entries) == len(walked.entries)
    assert tuple(kept.entries) == tuple(walked.entries)  # read from the memo, not walked
    assert rescans == []


def test_audit_from_a_stored_summary_equals_the_walk(pip_cache: str, tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "m.db"))
    walked, started = _saved(pip_cache, memo)
    kept = _load(pip_cache, memo, started)
    assert kept is not None
    snapshot.save_summary(memo, CacheScan(**{**kept.__dict__, "summary": summarize(walked)}))
    warm = _load(pip_cache, memo, started)
    memo.close()
    assert warm is not None and warm.summary == summarize(walked)
    now = time.time() + 86400  # a day on: every download unused for half a day is stale
    fresh = audit([(walked, (), "me")], now=now, stale_days=0.5)
    answered = audit([(warm, (), "me")], now=now, stale_days=0.5)
    assert answered == fresh
    assert fresh.caches[0].stale.entries > 0  # the stale count is worked out at audit time
    assert snapshot.decode_summary(snapshot.encode_summary(warm.summary)) == warm.summary


@pytest.mark.parametrize(
    "change",
    ["new entry", "new entry in a known dir", "removed body", "chmod", "symlink", "renamed"],
)
def test_a_changed_directory_means_a_new_walk(pip_cache: str, tmp_path: Path, change: str) -> None:
    memo = open_memo(str(tmp_path / "m.db"))
    walked, started = _saved(pip_cache, memo)
    body = next(e for e in walked.entries if e.kind == Kind.WHEEL).files[1].path
    leaf = os.path.dirname(body)
    if change == "new entry":  # five new directories deep down: only the deepest known one
        new = Path(pip_cache, "http-v2", "f", "f", "f", "f", "f")
        new.mkdir(parents=True, exist_ok=True)
        (new / ("f" * 56)).write_bytes(b"cc=4,")
    elif change == "new entry in a known dir":
        Path(leaf, os.path.basename(body)[0] * 56).write_bytes(b"cc=4,")
    elif change == "removed body":
        os.unlink(body)
    elif change == "chmod":
        os.chmod(leaf, 0o700)
    elif change == "symlink":  # a directory swapped for a symlink to a copy of it
        shutil.copytree(leaf, str(tmp_path / "elsewhere"))
        shutil.rmtree(leaf)
        os.symlink(tmp_path / "elsewhere", leaf)
    else:
        os.rename(body, body + ".tmp")
        os.rename(body + ".tmp", body)
    assert _load(pip_cache, memo, started) is None
    memo.close()


def test_racy_walk_is_not_kept(pip_cache: str, tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "m.db"))
    walked, dirs = _walk(pip_cache, memo)
    newest = max(max(m, c) for _, _, m, c in dirs)
    racy = snapshot.save(memo, "pip", pip_cache, pip_cache, walked, dirs, newest + 10**9)
    assert racy.snapshot is None  # a directory changed within RACY_S of the walk's start
    key = snapshot.key_for("pip", pip_cache, pip_cache)
    assert memo.get_snapshot(key, snapshot.WRITER) is None
    memo.close()


def test_old_snapshot_and_damaged_blobs_mean_a_walk(pip_cache: str, tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    memo = open_memo(db)
    walked, started = _saved(pip_cache, memo)
    key = snapshot.key_for("pip", pip_cache, pip_cache)
    too_old = started + snapshot.MAX_AGE_S * 1_000_000_000 + 1
    for now in (too_old, started - 1):  # too old, or taken "in the future" (a clock change)
        assert snapshot.load(memo, "pip", pip_cache, pip_cache, lambda: walked, now) is None
    # entries that no longer decode: read from a new walk instead
    raw = sqlite3.connect(db)
    raw.execute("UPDATE snapshot SET entries = x'c1c1' WHERE key = ?", (key,))
    raw.commit()
    rescans: list[int] = []
    kept = _load(pip_cache, memo, started, rescans)
    assert kept is not None and rescans == []
    assert [_what(e) for e in kept.entries] == [_what(e) for e in walked.entries]
    assert rescans == [1]  # (the new walk's reads moved access times: compare contents)
    # directory stamps that do not decode: no snapshot at all
    raw.execute("UPDATE snapshot SET dirs = x'00' WHERE key = ?", (key,))
    raw.commit()
    assert _load(pip_cache, memo, started) is None
    # written by another version: none, and the next walk replaces it (one row per cache)
    _saved(pip_cache, memo)
    raw.execute("UPDATE snapshot SET writer = '0|0.0.0' WHERE key = ?", (key,))
    raw.commit()
    assert _load(pip_cache, memo, started) is None
    _, again = _saved(pip_cache, memo)
    assert _load(pip_cache, memo, again) is not None
    assert raw.execute("SELECT count(*) FROM snapshot").fetchone() == (1,)
    raw.close()
    memo.close()


def test_large_checks_fork_and_both_halves_count(
    pip_cache: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(snapshot, "FORK_MIN", 1)
    memo = open_memo(str(tmp_path / "m.db"))
    _, dirs = _walk(pip_cache, memo)
    memo.close()
    rels = [d[0] for d in dirs]
    stamps = [n for d in dirs for n in d[1:]]
    assert snapshot.unchanged(pip_cache, rels, stamps)
    first, last = rels[0], rels[-1]  # one in the parent's half, one in the child's
    for rel in (last, first):
        os.chmod(os.path.join(pip_cache, rel), 0o700)
        assert not snapshot.unchanged(pip_cache, rels, stamps)
        fresh = os.stat(os.path.join(pip_cache, rel))
        at = 3 * rels.index(rel)
        stamps[at : at + 3] = [fresh.st_ino, fresh.st_mtime_ns, fresh.st_ctime_ns]
        assert snapshot.unchanged(pip_cache, rels, stamps)


def _audit(cache: str, env: dict[str, str], *extra: str) -> dict[str, object]:
    proc = subprocess.run(
        [CACHECENSUS, "audit", "--json", "--cache-dir", cache, *extra],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr
    doc: dict[str, object] = json.loads(proc.stdout)
    for cache_doc in doc["caches"]:  # type: ignore[attr-defined]
        cache_doc.pop("filesystem")  # live numbers of the whole disk
    return doc


def test_cli_answers_an_unchanged_cache_from_its_snapshot(pip_cache: str, tmp_path: Path) -> None:
    env = dict(os.environ, CACHECENSUS_MEMO=str(tmp_path / "m.db"))
    time.sleep(snapshot.RACY_S + 0.2)  # the copy's directories are no longer racy
    cold = _audit(pip_cache, env)
    warm = _audit(pip_cache, env)
    assert warm == cold
    listed = subprocess.run(
        [CACHECENSUS, "list", "--json", "--cache-dir", pip_cache],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    rescanned = subprocess.run(
        [CACHECENSUS, "list", "--json", "--rescan", "--cache-dir", pip_cache],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )

    def entries(stdout: str) -> list[dict[str, object]]:
        # last_used aside: the cold run's own reads moved access times after its walk
        return [
            {k: v for k, v in e.items() if k != "last_used"} for e in json.loads(stdout)["entries"]
        ]

    assert entries(listed.stdout) == entries(rescanned.stdout)
    # what a snapshot cannot see: a file rewritten in place (pip never does it) stays as the
    # last walk saw it until --rescan (or an hour) ...
    wheel = next(e for e in json.loads(listed.stdout)["entries"] if e["kind"] == "wheel")
    with open(wheel["files"][1], "r+b") as body:
        body.truncate(10)
    assert _audit(pip_cache, env) == cold
    rescan = _audit(pip_cache, env, "--rescan")
    body_before = wheel["size"] - os.path.getsize(wheel["files"][0])  # entry minus record
    cold_size = cold["caches"][0]["size"]  # type: ignore[index]
    assert rescan["caches"][0]["size"] == cold_size - body_before + 10  # type: ignore[index]
    # ... while a file removed anywhere is seen at once
    os.unlink(wheel["files"][0])
    orphaned = _audit(pip_cache, env)
    assert orphaned["caches"][0]["by_kind"]["orphan"]["entries"] == 1  # type: ignore[index]


def test_cli_several_caches_info_and_leftovers_from_snapshots(
    real_caches: Path, tmp_path: Path
) -> None:
    """Two caches audited together (totals over both read the snapshots' entries), `info`,
    and a removal's leftover directory (an orphan entry) all answer as a full walk does."""
    new, old = str(real_caches / "pip-26.3"), str(real_caches / "pip-23.2.1")
    # an interrupted removal (a record goes first) leaves a body without its record
    record = next(p for p in Path(new, "http-v2").rglob("*") if len(p.name) == 56)
    record.unlink()
    env = dict(os.environ, CACHECENSUS_MEMO=str(tmp_path / "m.db"))
    time.sleep(snapshot.RACY_S + 0.2)
    both = ("--cache-dir", new, "--cache-dir", old)
    cold = _audit(new, env, "--cache-dir", old)
    assert _audit(new, env, "--cache-dir", old) == cold
    assert _audit(new, env, "--cache-dir", old, "--rescan") == cold
    assert cold["caches"][0]["by_kind"]["orphan"]["entries"] >= 1  # type: ignore[index]
    db = sqlite3.connect(tmp_path / "m.db")
    kept = db.execute("SELECT count(*), count(summary) FROM snapshot").fetchone()
    db.close()
    assert kept == (2, 2)  # each cache's scan and audit numbers kept

    def info(*extra: str) -> object:
        proc = subprocess.run(
            [CACHECENSUS, "info", "--json", *both, *extra],
            capture_output=True,
            text=True,
            env=env,
        )
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    assert info() == info("--rescan")


def test_identifying_a_body_is_not_a_use_of_it(pip_cache: str) -> None:
    """Bodies are read with O_NOATIME (owner or root): an audit does not make every entry
    look used today (relatime would move an access time older than the mtime)."""
    walked = scan(HOST, pip_cache, workers=1)
    bodies = [e.files[-1].path for e in walked.entries if e.kind == Kind.WHEEL]
    for path in bodies:
        st = os.stat(path)
        os.utime(path, ns=(st.st_mtime_ns - 10**9, st.st_mtime_ns))
    before = {p: os.stat(p).st_atime_ns for p in bodies}
    again = scan(HOST, pip_cache, workers=1)  # no memo: every body read again
    assert sum(e.kind == Kind.WHEEL for e in again.entries) == len(bodies) > 0
    assert {p: os.stat(p).st_atime_ns for p in bodies} == before


def test_summary_without_hard_links_counts_as_the_per_inode_path(pip_cache: str) -> None:
    """With no file linked twice the summary skips per-inode bookkeeping: same numbers; a
    second name of a file inside the cache is counted once in the audit's row."""
    walked = scan(HOST, pip_cache, workers=1)
    assert all(f.nlink == 1 for e in walked.entries for f in e.files)
    summary = summarize(walked)
    assert not summary.linked_files and summary.linked_elsewhere == 0
    assert summary.extra_links == (0, 0, 0)
    assert summary.reclaimable == sum(
        e.size for e in walked.entries if e.kind not in (Kind.STRAY, Kind.SELFCHECK)
    )
    first = walked.entries[0].files[0]
    os.link(first.path, Path(pip_cache).parent / "a-second-name")
    linked = summarize(scan(HOST, pip_cache, workers=1))
    assert linked.linked_files and linked.linked_elsewhere == first.size
    os.link(first.path, Path(pip_cache) / "a-third-name")  # a stray inside the cache
    inside = scan(HOST, pip_cache, workers=1)
    assert summarize(inside).extra_links[:2] == (1, first.size)
    (row,) = audit([(inside, (), None)]).caches
    assert (row.files, row.size) == (inside.files - 1, inside.size - first.size)
