"""Paths are bytes: a file or cache whose name is not UTF-8, or holds a newline or an
escape, goes through audit/list/info/remove (JSON, TOML and tables; cold and warm: the
memo and snapshot round-trip) without a traceback and without losing a byte.

The JSON scheme (README): ASCII only, a byte 0xNN that is not UTF-8 is ``\\udcNN``, so
``os.fsencode(json.loads(...))`` gives back the exact bytes; tables escape it as ``\\xNN``
and a newline as ``\\n`` (one row, one line)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import tomllib

from cachecensus import snapshot
from cachecensus.caches.base import DirStamp
from cachecensus.caches.pip import scan
from cachecensus.host import Host
from cachecensus.memo import open_memo
from cachecensus.models import Kind
from cachecensus.report import shown
from support.realusers import chown_tree, real_user, root_only

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
#: The cache's own directory name: latin-1 e-acute (not UTF-8) and a newline.
ODD_DIR = b"caf\xe9\ncache"
#: Stray files dropped into it: not UTF-8, a newline, a terminal escape, a bidi override.
ODD_FILES = (b"http-v2/x\xfe", b"new\nline", b"wheels/\x1b[31mred", "rtl\u202egnp.exe".encode())


def _bytes(text: str) -> bytes:
    return os.fsencode(text)


def _odd_copy(source: Path, parent: Path) -> Path:
    dest = Path(os.fsdecode(_bytes(str(parent)) + b"/" + ODD_DIR))
    shutil.copytree(source, dest, symlinks=True)
    for name in ODD_FILES:
        with open(_bytes(str(dest)) + b"/" + name, "wb") as fh:
            fh.write(b"stray")
    return dest


@pytest.fixture(scope="module")
def odd_cache(real_caches_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """pip-26.3 copied under a name that is not UTF-8, with odd strays; old enough that a
    scan of it is kept as a snapshot (no directory changed in the last RACY_S seconds)."""
    dest = _odd_copy(real_caches_dir / "pip-26.3", tmp_path_factory.mktemp("odd"))
    time.sleep(snapshot.RACY_S + 0.5)
    return dest


def run(
    *args: str, memo: Path | None = None, strict_stdout: bool = True
) -> subprocess.CompletedProcess[bytes]:
    env = dict(os.environ, CACHECENSUS_MEMO=str(memo) if memo else "off")
    if strict_stdout:  # a UTF-8 locale's stdout (C.UTF-8 would hide an encoding error)
        env["PYTHONIOENCODING"] = "utf-8:strict"
    proc = subprocess.run([CACHECENSUS, *args], capture_output=True, env=env, timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode(errors="replace")
    return proc


def _json(proc: subprocess.CompletedProcess[bytes]) -> dict[str, object]:
    assert proc.stdout.isascii()  # ensure_ascii: nothing a consumer could mis-decode
    doc = json.loads(proc.stdout)
    assert isinstance(doc, dict)
    return doc


# ---------------------------------------------------------------------- JSON, cold and warm


def test_a_file_name_not_utf8_never_crashes_audit_cold_or_warm(
    odd_cache: Path, tmp_path: Path
) -> None:
    memo = tmp_path / "memo.sqlite"
    docs = [_json(run("audit", "--json", "--cache-dir", str(odd_cache), memo=memo)) for _ in "123"]
    for doc in docs:  # the disk's free space moves between runs: not the cache's
        for cache in doc["caches"]:  # type: ignore[attr-defined]
            del cache["filesystem"]
    assert docs[0] == docs[1] == docs[2]
    (cache,) = docs[0]["caches"]  # type: ignore[misc]
    assert _bytes(cache["path"]).endswith(b"/" + ODD_DIR)
    assert cache["by_kind"]["stray"]["entries"] == len(ODD_FILES)
    # the second run stored the snapshot under the odd key: the third read it back
    real = str(odd_cache)
    held = open_memo(str(memo))
    try:
        assert held.get_snapshot(snapshot.key_for("pip", real, real), snapshot.WRITER)
    finally:
        held.close()


def test_list_and_info_json_keep_every_byte_cold_and_warm(odd_cache: Path, tmp_path: Path) -> None:
    memo = tmp_path / "memo.sqlite"
    for _ in "12":
        doc = _json(
            run("list", "--json", "--kind", "stray", "--cache-dir", str(odd_cache), memo=memo)
        )
        names = {_bytes(e["path"]) for e in doc["entries"]}  # type: ignore[union-attr]
        base = _bytes(str(odd_cache)) + b"/"
        assert names == {base + n for n in ODD_FILES}
        info = _json(run("info", "--json", "--cache-dir", str(odd_cache), memo=memo))
        assert _bytes(info["caches"][0]["wheels_cache_location"]).startswith(base)  # type: ignore[index]


def test_toml_shows_a_byte_not_utf8_as_backslash_x(odd_cache: Path) -> None:
    proc = run("audit", "--toml", "--cache-dir", str(odd_cache))
    doc = tomllib.loads(proc.stdout.decode("utf-8"))
    assert doc["caches"][0]["path"].endswith("caf\\xe9\ncache")


# ---------------------------------------------------------------------- tables


def test_a_newline_in_a_name_never_breaks_one_row_per_line(odd_cache: Path) -> None:
    proc = run("list", "--kind", "stray", "--cache-dir", str(odd_cache))
    lines = proc.stdout.split(b"\n")[:-1]
    title, header, rule, *rows = lines
    assert set(rule) <= set(b"- ")
    assert title == f"{len(ODD_FILES)} entries".encode() and header.startswith(b"project")
    assert len(rows) == len(ODD_FILES)
    shown_dir = shown(os.fsdecode(ODD_DIR)).encode()
    assert all(row.endswith(b"/" + shown_dir) for row in rows), rows
    assert b"caf\\xe9\\ncache" in proc.stdout


def test_a_terminal_escape_in_a_name_never_reaches_the_terminal(odd_cache: Path) -> None:
    for args in (("list", "--kind", "stray"), ("audit",)):
        proc = run(*args, "--cache-dir", str(odd_cache))
        assert b"\x1b" not in proc.stdout and "\u202e".encode() not in proc.stdout
        assert b"\xe9" not in proc.stdout  # shown as \xe9, not written raw


def test_info_keeps_one_line_per_field_for_a_cache_named_with_a_newline(odd_cache: Path) -> None:
    proc = run("info", "--cache-dir", str(odd_cache))
    lines = proc.stdout.decode("ascii").splitlines()
    assert len(lines) == 7 and all(": " in line for line in lines), lines
    assert lines[-3].endswith("caf\\xe9\\ncache/wheels")


def test_shown_escapes_controls_bidi_and_undecodable_bytes_only() -> None:
    assert shown("caf\udce9\n\t\x1b[1m\u202e ok é") == "caf\\xe9\\n\\t\\x1b[1m\\u202e ok é"
    assert shown("/home/me/.cache/pip") == "/home/me/.cache/pip"


# ---------------------------------------------------------------------- removal


def test_removing_an_entry_in_a_cache_named_with_odd_bytes_works(
    real_caches_dir: Path, tmp_path: Path
) -> None:
    cache = _odd_copy(real_caches_dir / "pip-26.3", tmp_path)
    memo = tmp_path / "memo.sqlite"
    run("audit", "--json", "--cache-dir", str(cache), memo=memo)  # memo holds odd paths
    proc = run("remove", "six", "--yes", "--json", "--cache-dir", str(cache), memo=memo)
    assert proc.returncode == 0, proc.stderr
    doc = _json(proc)
    files = [_bytes(f) for item in doc["plan"]["items"] for f in item["files"]]  # type: ignore[index]
    assert files and all(f.startswith(_bytes(str(cache)) + b"/") for f in files)
    assert not any(os.path.lexists(f) for f in files)
    after = _json(run("list", "--json", "six", "--cache-dir", str(cache), memo=memo))
    assert after["entries"] == []
    for name in ODD_FILES:  # strays are never removed
        assert os.path.lexists(_bytes(str(cache)) + b"/" + name)


# ---------------------------------------------------------------------- memo and snapshot


def test_memo_round_trips_paths_not_utf8(tmp_path: Path) -> None:
    memo = open_memo(str(tmp_path / "m.db"))
    odd_dir = os.fsdecode(b"/c/caf\xe9")
    rows = [
        (odd_dir + "/a", (1, 2, 3), {"kind": "wheel", "project": "six"}),
        ("/c/plain/b", (4, 5, 6), {"kind": "sdist"}),
        ("/c/plain/" + os.fsdecode(b"x\xfe"), (7, 8, 9), {"kind": "unknown"}),
        ("/c/plain/v", (1, 1, 1), {"kind": "stray", "filename": os.fsdecode(b"\xff")}),
    ]
    memo.put_many(rows)
    memo.put_sha256(odd_dir + "/a", (1, 2, 3), "ab" * 32)
    try:
        assert set(memo.get_many(odd_dir)) == {odd_dir + "/a"}
        assert set(memo.get_many("/c/plain")) == {"/c/plain/b", rows[2][0]}  # v: not kept
        assert memo.get(odd_dir + "/a", (1, 2, 3))["project"] == "six"  # type: ignore[index]
        assert memo.get_sha256(odd_dir + "/a", (1, 2, 3)) == "ab" * 32
        assert memo.get(rows[2][0], (7, 8, 9)) is not None
    finally:
        memo.close()


def test_snapshot_round_trips_entries_named_not_utf8(odd_cache: Path, tmp_path: Path) -> None:
    host = Host.local()
    memo = open_memo(str(tmp_path / "m.db"))
    top = str(odd_cache)
    try:
        dirs: list[DirStamp] = []
        walked = scan(host, top, memo=memo, workers=1, dirs=dirs)
        kept = snapshot.save(memo, "pip", top, top, walked, dirs, time.time_ns())
        assert kept.snapshot is not None
        loaded = snapshot.load(memo, "pip", top, top, lambda: walked)
        assert loaded is not None
        again = {(e.key, tuple(f.path for f in e.files)) for e in loaded.entries}
        assert again == {(e.key, tuple(f.path for f in e.files)) for e in walked.entries}
        strays = {_bytes(e.key) for e in loaded.entries if e.kind is Kind.STRAY}
        assert strays == set(ODD_FILES)
    finally:
        memo.close()


# ---------------------------------------------------------------------- other users' bytes


@pytest.fixture(params=["PIP_CACHE_DIR", "XDG_CACHE_HOME"])
def odd_user(request: pytest.FixtureRequest, real_caches_dir: Path) -> Iterator[tuple[str, bytes]]:
    """cc_reads_a, with a running process whose PIP_CACHE_DIR (or XDG_CACHE_HOME) is not
    UTF-8, naming a pip cache of hers: (user name, the cache's path as bytes)."""
    user = real_user("cc_reads_a")
    home = user.pw_dir.encode()
    top = home + b"/caf\xe9"
    cache = top + b"/pip"
    if os.path.lexists(top):
        shutil.rmtree(top)
    shutil.copytree(real_caches_dir / "pip-26.3", os.fsdecode(cache), symlinks=True)
    chown_tree(Path(os.fsdecode(top)), user)
    variable = request.param.encode()
    env = {b"HOME": home, b"PATH": b"/usr/bin:/bin", variable: cache, b"ODD": b"\xff"}
    if variable == b"XDG_CACHE_HOME":
        env[variable] = top
    proc = subprocess.Popen(["sleep", "300"], env=env, user=user.pw_uid, group=user.pw_gid)
    try:
        yield user.pw_name, cache
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(top, ignore_errors=True)


@root_only
@pytest.mark.slow
def test_a_users_env_not_utf8_never_crashes_roots_audit(
    odd_user: tuple[str, bytes], tmp_path: Path
) -> None:
    name, cache = odd_user
    memo = tmp_path / "memo.sqlite"
    for args in (("--user", name), ("--all-users",)):
        for _ in "12":  # cold, then with the memo
            doc = _json(run("audit", "--json", "--tool", "pip", *args, memo=memo))
            paths = {_bytes(c["path"]) for c in doc["caches"]}  # type: ignore[union-attr]
            assert cache in paths, (args, paths)
        table = run("audit", "--tool", "pip", *args)
        assert table.returncode in (0, 1) and b"caf\\xe9/pip" in table.stdout


def test_conda_environments_txt_keeps_a_path_not_utf8(tmp_path: Path) -> None:
    from cachecensus.discover.conda import CondaProvider
    from cachecensus.models import User
    from test_discover import python_build

    odd = os.fsdecode(b"/home/bob/envs/caf\xe9")
    python_build(tmp_path, odd, "3.11.2", pip=None)
    (tmp_path / odd.lstrip("/") / "conda-meta").mkdir()
    listing = tmp_path / "home/bob/.conda/environments.txt"
    listing.parent.mkdir(parents=True)
    listing.write_bytes(b"/home/bob/envs/caf\xe9\n")
    host = Host(root=str(tmp_path))
    bob = User("bob", 1001, 1001, "/home/bob", "/bin/sh")
    conda = CondaProvider.create(host, bob, {"HOME": bob.home})
    assert conda is not None
    assert odd + "/bin/python" in {c.path for c in conda.find()}
