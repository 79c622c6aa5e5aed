"""The identification memo: rebuilt when corrupt or outdated, shared by concurrent runs."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

from cachecensus import memo as memo_mod
from cachecensus.memo import default_path, open_memo


def test_round_trip_and_prefix_lookup(tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "m.sqlite"))
    assert memo.warning is None
    memo.put_many(
        [
            ("/c/a_b/x", (1, 2, 3), {"kind": "wheel", "project": "six"}),
            ("/c/a%b/y", (4, 5, 6), {"kind": "sdist"}),
            ("/other/z", (7, 8, 9), {"kind": "wheel"}),
        ]
    )
    got = memo.get_many("/c/a_b")
    assert list(got) == ["/c/a_b/x"]  # LIKE wildcards in the prefix are escaped
    assert got["/c/a_b/x"][0] == (1, 2, 3) and got["/c/a_b/x"][1]["project"] == "six"
    memo.close()


def test_corrupt_database_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    memo = open_memo(str(path))
    assert memo.conn is not None and memo.warning and "rebuilt" in memo.warning
    assert list(tmp_path.glob("m.sqlite.corrupt-*"))
    memo.put_many([("/c/x", (1, 1, 1), {"kind": "wheel"})])
    assert memo.get_many("/c")
    memo.close()


def test_schema_change_rebuilds(tmp_path: Path, monkeypatch: object) -> None:
    path = str(tmp_path / "m.sqlite")
    memo = open_memo(path)
    memo.put_many([("/c/x", (1, 1, 1), {"kind": "wheel"})])
    memo.close()
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    conn.commit()
    conn.close()
    again = open_memo(path)
    assert again.get_many("/c") == {}  # an older layout is dropped, not misread
    again.close()
    current = open_memo(path)
    assert sqlite3.connect(path).execute("SELECT value FROM meta").fetchone()[0] == str(
        memo_mod.SCHEMA_VERSION
    )
    current.close()


def test_disabled_and_default_locations(tmp_path: Path) -> None:
    assert default_path({"CACHECENSUS_MEMO": "off"}) is None
    assert default_path({"CACHECENSUS_MEMO": str(tmp_path / "x")}) == str(tmp_path / "x")
    off = open_memo(env={"CACHECENSUS_MEMO": "off"})
    assert off.conn is None and off.get_many("/") == {}
    off.put_many([("/a", (1, 1, 1), {"kind": "wheel"})])  # a no-op, not an error


def test_concurrent_writers_do_not_fail(tmp_path: Path) -> None:
    path = tmp_path / "m.sqlite"
    code = (
        "import sys\n"
        "from cachecensus.memo import open_memo\n"
        "m = open_memo(sys.argv[1])\n"
        "assert m.warning is None, m.warning\n"
        "for r in range(40):\n"
        "    m.put_many([(f'/c/{sys.argv[2]}/{r}/{i}', (i, i, i), {'kind': 'wheel'})"
        " for i in range(200)])\n"
        "    m.get_many('/c')\n"
        "m.close()\n"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), str(n)]) for n in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    memo = open_memo(str(path))
    assert len(memo.get_many("/c")) == 3 * 40 * 200
    memo.close()
