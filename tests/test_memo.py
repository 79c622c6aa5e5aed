"""memo.py: a warm scan only stats; corrupt, old and shared databases."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from cachecensus.artifacts import sha256_of
from cachecensus.caches import pip as pipmod
from cachecensus.caches.pip import scan
from cachecensus.host import Host
from cachecensus.memo import SCHEMA_VERSION, default_path, open_memo
from cachecensus.models import Kind

HOST = Host.local()


def _summary(result: object) -> set[tuple[str, str, str | None, str | None, str | None]]:
    return {
        (e.key, e.kind.value, e.project, e.version, e.filename)
        for e in result.entries  # type: ignore[attr-defined]
    }


def test_second_scan_identifies_nothing(
    real_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = pipmod.identify_entry

    def counting(job: tuple[str, str, str | None, int]) -> dict[str, str | None]:
        calls.append(job[1])
        return original(job)

    monkeypatch.setattr(pipmod, "identify_entry", counting)
    db = str(tmp_path / "memo.sqlite")
    cache = str(real_caches / "pip-26.3")
    memo = open_memo(db)
    first = scan(HOST, cache, memo=memo, workers=1)
    memo.close()
    assert len(calls) == 13  # every http-v2 entry read once
    calls.clear()
    memo = open_memo(db)
    second = scan(HOST, cache, memo=memo, workers=1)
    assert calls == []  # warm: nothing opened, only stat'ed
    body = next(e for e in second.entries if e.project == "six" and e.version == "1.16.0")
    os.utime(body.files[1].path, ns=(1, 1))  # a changed file is identified again
    third = scan(HOST, cache, memo=memo, workers=1)
    memo.close()
    assert calls == [body.files[0].path]
    assert _summary(first) == _summary(second) == _summary(third)
    assert all(e.kind != Kind.UNKNOWN for e in second.entries)


def test_corrupt_database_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    db = tmp_path / "memo.sqlite"
    db.write_bytes(b"this is not a database" * 100)
    memo = open_memo(str(db))
    assert memo.conn is not None
    assert memo.warning and "unreadable" in memo.warning and str(db) in memo.warning
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("memo.sqlite.corrupt-")]
    assert len(aside) == 1 and aside[0].read_bytes().startswith(b"this is not")
    memo.put_many([("/x/a", (1, 2, 3), {"kind": "wheel", "project": "a"})])
    assert memo.get("/x/a", (1, 2, 3)) == {
        "kind": "wheel",
        "project": "a",
        **{k: None for k in ("version", "filename", "content_type", "detail", "date", "url")},
        "sha256": None,
    }
    memo.close()
    again = open_memo(str(db))
    assert again.warning is None and again.get("/x/a", (1, 2, 3)) is not None
    again.close()


def test_schema_change_rebuilds(tmp_path: Path) -> None:
    db = str(tmp_path / "memo.sqlite")
    memo = open_memo(db)
    memo.put_many([("/x/a", (1, 2, 3), {"kind": "wheel"})])
    memo.close()
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema'", (str(SCHEMA_VERSION - 1),))
    memo = open_memo(db)
    assert memo.rebuilt and memo.warning is None
    assert memo.get_many("/x") == {}
    memo.put_many([("/x/a", (1, 2, 3), {"kind": "sdist"})])
    assert memo.get_many("/x")["/x/a"][1]["kind"] == "sdist"
    memo.close()


def test_disabled_and_located_by_env(tmp_path: Path) -> None:
    assert default_path({"CACHECENSUS_MEMO": "off"}) is None
    assert default_path({"CACHECENSUS_MEMO": str(tmp_path / "m.db")}) == str(tmp_path / "m.db")
    assert str(default_path({})).endswith(os.path.join("cachecensus", "memo.sqlite"))
    off = open_memo(env={"CACHECENSUS_MEMO": "off"})
    assert off.conn is None and off.get_many("/") == {}
    off.put_many([("/a", (1, 1, 1), {"kind": "wheel"})])  # a no-op, not an error
    moved = open_memo(env={"CACHECENSUS_MEMO": str(tmp_path / "sub" / "m.db")})
    assert moved.conn is not None and (tmp_path / "sub" / "m.db").exists()
    moved.close()


def test_prefix_lookup_is_exact(tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "memo.sqlite"))
    memo.put_many(
        [
            ("/c/pip/a", (1, 1, 1), {"kind": "wheel"}),
            ("/c/pip_x/b", (1, 1, 1), {"kind": "wheel"}),
            ("/c/pip%/c", (1, 1, 1), {"kind": "wheel"}),
            ("/c/pip/sub/d", (1, 1, 1), {"kind": "wheel"}),
        ]
    )
    assert set(memo.get_many("/c/pip")) == {"/c/pip/a", "/c/pip/sub/d"}
    memo.close()


def test_sha256_is_memoised_beside_the_identification(
    real_caches: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    db = str(tmp_path / "memo.sqlite")
    memo = open_memo(db)
    cache = str(real_caches / "pip-26.3")
    result = scan(HOST, cache, memo=memo, workers=1)
    wheel = next(e for e in result.entries if e.kind == Kind.WHEEL)
    digest = sha256_of(HOST, wheel, memo)
    assert digest == hashlib.sha256(Path(wheel.files[1].path).read_bytes()).hexdigest()
    hashed: list[int] = []
    from cachecensus import identify

    real = identify.sha256_of
    monkeypatch.setattr(identify, "sha256_of", lambda fh: hashed.append(1) or real(fh))
    assert sha256_of(HOST, wheel, memo) == digest and hashed == []
    again = scan(HOST, cache, memo=memo, workers=1)  # a rescan keeps the hash...
    same = next(e for e in again.entries if e.key == wheel.key)
    assert same.sha256 == digest and same.project == wheel.project
    memo.close()
    legacy = scan(HOST, str(real_caches / "pip-23.2.1"), workers=1)
    inline = next(e for e in legacy.entries if e.kind == Kind.WHEEL)
    assert sha256_of(HOST, inline) is not None and hashed  # ...and the body inside a record


_WRITER = """
import sys
from cachecensus.memo import open_memo
memo = open_memo(sys.argv[1])
assert memo.conn is not None, memo.warning
tag = sys.argv[2]
for batch in range(20):
    memo.put_many([(f"/c/{tag}/{batch}/{i}", (i, i, i), {"kind": "wheel", "project": tag})
                   for i in range(200)])
    assert len(memo.get_many(f"/c/{tag}")) == (batch + 1) * 200
memo.close()
"""


def test_concurrent_writers_do_not_fail(tmp_path: Path) -> None:
    """Two processes creating the schema and writing batches at once: both finish, every
    row is there."""
    db = str(tmp_path / "memo.sqlite")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, db, tag], stderr=subprocess.PIPE, text=True
        )
        for tag in ("one", "two", "three")
    ]
    errors = [proc.communicate(timeout=120)[1] for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], errors
    memo = open_memo(db)
    assert len(memo.get_many("/c")) == 3 * 20 * 200
    assert memo.warning is None
    memo.close()
