"""Scanning real pip caches: the fixture caches, caches grown by real pip, corrupt input."""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import msgpack
import pytest

from cachecensus.caches import pip as pipmod
from cachecensus.caches.pip import RECORD_HEAD, pip_info, scan
from cachecensus.host import Host
from cachecensus.identify import identify_bytes
from cachecensus.models import CacheScan, Kind
from conftest import PIP_NEW, PIP_OLD

CACHECENSUS = str(Path(sys.executable).parent / "cachecensus")
HOST = Host.local()


def summary(result: CacheScan) -> set[tuple[str, str, str | None, str | None]]:
    return {(e.area, e.kind.value, e.project, e.version) for e in result.entries}


def test_fixture_pip_26_every_entry(real_caches: Path) -> None:
    result = scan(HOST, str(real_caches / "pip-26.3"))
    assert summary(result) == {
        ("http-v2", "wheel", "six", "1.16.0"),
        ("http-v2", "wheel", "six", "1.17.0"),
        ("http-v2", "wheel", "idna", "3.7"),
        ("http-v2", "wheel", "packaging", "24.1"),
        ("http-v2", "wheel", "attrs", "23.2.0"),
        ("http-v2", "sdist", "docopt", "0.6.2"),
        ("http-v2", "sdist", "sgmllib3k", "1.0.0"),
        *{
            ("http-v2", "index-page", p, None)
            for p in ("six", "idna", "packaging", "attrs", "docopt", "sgmllib3k")
        },
        ("wheels", "built-wheel", "docopt", "0.6.2"),
        ("wheels", "built-wheel", "sgmllib3k", "1.0.0"),
    }
    http = [e for e in result.entries if e.area == "http-v2"]
    assert len(http) == 13  # the MANIFEST's 13 entries, record + .body each
    assert all(len(e.files) == 2 and e.files[1].path.endswith(".body") for e in http)
    assert all(e.date and e.date.startswith("2026-") for e in http)
    built = [e for e in result.entries if e.kind == Kind.BUILT_WHEEL]
    assert all(e.url and e.url.endswith((".tar.gz", ".zip")) for e in built)
    wheel_names = {e.filename for e in result.entries if e.kind == Kind.WHEEL}
    assert "six-1.16.0-py2.py3-none-any.whl" in wheel_names


def test_fixture_legacy_and_mixed(real_caches: Path) -> None:
    legacy = scan(HOST, str(real_caches / "pip-23.2.1"))
    assert {(a, k, p, v) for a, k, p, v in summary(legacy) if k != "index-page"} == {
        ("http", "wheel", "six", "1.16.0"),
        ("http", "wheel", "idna", "3.7"),
        ("http", "wheel", "attrs", "23.2.0"),
        ("http", "sdist", "docopt", "0.6.2"),
        ("wheels", "built-wheel", "docopt", "0.6.2"),
    }
    assert len([e for e in legacy.entries if e.area == "http"]) == 8
    mixed = scan(HOST, str(real_caches / "pip-23-then-26"))
    areas = {(e.area, e.project, e.version) for e in mixed.entries if e.kind == Kind.WHEEL}
    assert areas == {
        ("http", "six", "1.16.0"),
        ("http", "idna", "3.7"),
        ("http-v2", "six", "1.17.0"),
        ("http-v2", "packaging", "24.1"),
    }


@pytest.mark.parametrize("name", ["pip-26.3", "pip-23.2.1", "pip-23-then-26", "uv-0.13.9"])
def test_sizes_are_what_du_counts(real_caches: Path, name: str) -> None:
    top = real_caches / name
    result = scan(HOST, str(top))
    files = [p for p in top.rglob("*") if p.is_file() and not p.is_symlink()]
    assert result.files == len(files)
    assert result.size == sum(p.lstat().st_size for p in files)
    dirs = [top, *(p for p in top.rglob("*") if p.is_dir() and not p.is_symlink())]
    du = int(
        subprocess.run(
            ["du", "-sb", str(top)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
    )
    links = [p for p in top.rglob("*") if p.is_symlink()]  # du counts a link's own size too
    assert result.size == du - sum(d.lstat().st_size for d in [*dirs, *links])


def test_uv_cache_is_all_strays_for_the_pip_scanner(real_caches: Path) -> None:
    """A uv cache is not pip's: nothing in it is cache-shaped for pip (and so never removed
    by pip-format commands)."""
    result = scan(HOST, str(real_caches / "uv-0.13.9"))
    assert result.entries and {e.kind for e in result.entries} <= {Kind.STRAY}


def test_info_matches_real_pip(real_caches: Path, pip_venv: Callable[[str], Path]) -> None:
    python = pip_venv(PIP_NEW)
    top = real_caches / "pip-26.3"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CACHE_DIR=str(top), PIP_DISABLE_PIP_VERSION_CHECK="1")
    theirs = subprocess.run(
        [str(python), "-m", "pip", "cache", "info"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ours = subprocess.run(
        [CACHECENSUS, "info", "--cache-dir", str(top)], capture_output=True, text=True, check=True
    ).stdout
    pip_lines = dict(line.split(": ", 1) for line in theirs.strip().splitlines())
    our_lines = dict(line.split(": ", 1) for line in ours.strip().splitlines())
    for key, value in pip_lines.items():
        if key == "Number of HTTP files":  # pip counts record and .body: we add the truth
            assert our_lines[key] == f"{value} (13 cache entries)"
        else:
            assert our_lines[key] == value, key
    info = pip_info(scan(HOST, str(top)))
    assert info["http_files"] == 26 and info["http_entries"] == 13


def _grow(python: Path, index: str, cache: Path, out: Path, *specs: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "XDG_"))}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    common = ["--index-url", index, "--trusted-host", "127.0.0.1", "--cache-dir", str(cache)]
    subprocess.run(
        [str(python), "-m", "pip", "download", "--no-deps", "-d", str(out / "dl"), *common, *specs],
        env=env,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "-w",
            str(out / "wh"),
            *common,
            "docopt==0.6.2",
        ],
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.mark.parametrize("version,area", [(PIP_NEW, "http-v2"), (PIP_OLD, "http")])
def test_cache_grown_by_real_pip(
    version: str,
    area: str,
    pip_venv: Callable[[str], Path],
    loopback_index: str,
    tmp_path: Path,
) -> None:
    cache = tmp_path / "cache"
    _grow(
        pip_venv(version),
        loopback_index,
        cache,
        tmp_path,
        "six==1.16.0",
        "idna==3.7",
        "docopt==0.6.2",
    )
    result = scan(HOST, str(cache))
    got = summary(result)
    assert (area, "wheel", "six", "1.16.0") in got
    assert (area, "wheel", "idna", "3.7") in got
    assert (area, "sdist", "docopt", "0.6.2") in got
    assert (area, "index-page", "six", None) in got
    assert ("wheels", "built-wheel", "docopt", "0.6.2") in got
    assert not [
        e for e in result.entries if e.kind in (Kind.CORRUPT, Kind.ORPHAN, Kind.STRAY, Kind.UNKNOWN)
    ]
    http = [e for e in result.entries if e.area == area]
    assert http and all(e.project and e.date and e.content_type for e in http)
    assert all(e.version and e.filename for e in http if e.kind != Kind.INDEX_PAGE)


# ---------------------------------------------------------------------- hostile input


def record(body: bytes | None = None, ctype: str = "application/zip") -> bytes:
    response = {
        "body": body if body is not None else b"",
        "headers": {"Content-Type": ctype, "Date": "Mon, 23 Nov 2026 23:19:25 GMT"},
        "status": 200,
        "version": 11,
        "reason": "OK",
        "decode_content": False,
    }
    return b"cc=4," + msgpack.packb({"response": response, "vary": {}}, use_bin_type=True)


def put(cache: Path, area: str, name: str, data: bytes) -> Path:
    path = cache / area / name[0] / name[1] / name[2] / name[3] / name[4] / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


H = "0123456789abcdef" * 4


def h(i: int) -> str:
    return (f"{i:x}" + H)[:56]


def test_corrupt_and_orphaned_entries_never_crash(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("x-1.0.dist-info/METADATA", "Name: x\nVersion: 1.0\n")
    good = wheel.getvalue()
    put(cache, "http-v2", h(1), record())
    put(cache, "http-v2", h(1) + ".body", good[: len(good) // 2])  # truncated wheel
    put(cache, "http-v2", h(2), b"garbage, not a record")
    put(cache, "http-v2", h(2) + ".body", good)
    put(cache, "http-v2", h(3), record())  # record without body
    put(cache, "http-v2", h(4) + ".body", good)  # body without record
    put(cache, "http-v2", h(5) + "abc12345.tmp", b"partial")  # interrupted write
    put(cache, "http", h(6), b"cc=4," + b"\xc1\xc1\xc1")  # bad msgpack
    put(cache, "http-v2", h(7), record(ctype="text/plain"))
    put(cache, "http-v2", h(7) + ".body", b"\xff\xfe not utf-8 \x00")
    (cache / "notes.txt").write_text("the user's own file")
    result = scan(HOST, str(cache))
    kinds = {(e.key.rsplit("/", 1)[-1][:1], e.kind) for e in result.entries}
    assert ("1", Kind.CORRUPT) in kinds
    assert ("2", Kind.CORRUPT) in kinds
    assert ("3", Kind.ORPHAN) in kinds and ("4", Kind.ORPHAN) in kinds
    assert ("5", Kind.ORPHAN) in kinds
    assert ("6", Kind.CORRUPT) in kinds
    assert ("7", Kind.UNKNOWN) in kinds
    assert ("n", Kind.STRAY) in kinds
    assert result.files == 11


def test_an_entry_we_cannot_read_is_unknown_never_corrupt(tmp_path: Path) -> None:
    """``prune`` takes corrupt entries (pip can never use them). A record root cannot open
    (EACCES on a root-squashed NFS home, a file gone mid-scan, EIO) is not shown corrupt:
    pip, as its owner, may read it well. Only what was read and is broken is corrupt."""
    cache = tmp_path / "cache"
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("x-1.0.dist-info/METADATA", "Name: x\nVersion: 1.0\n")
    record_path = put(cache, "http-v2", h(1), record())
    body = put(cache, "http-v2", h(1) + ".body", wheel.getvalue()[:40])  # truncated
    gone = str(tmp_path / "gone")
    for job in (("http-v2", gone, gone + ".body", 10), ("http-v2", str(record_path), gone, 10)):
        found = pipmod.identify_entry(job)
        assert found["kind"] == Kind.UNKNOWN.value, found
        assert str(found["detail"]).startswith("unreadable ")
    broken = pipmod.identify_entry(("http-v2", str(record_path), str(body), 40))
    assert broken["kind"] == Kind.CORRUPT.value
    (entry,) = scan(HOST, str(cache)).entries
    assert pipmod.prune([entry]) == [(entry, "corrupt: pip can never use it")]
    assert pipmod.prune([replace(entry, kind=Kind.UNKNOWN)]) == []


def test_zip_bomb_and_huge_names_are_capped() -> None:
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("b-1.dist-info/METADATA", b"Name: b\n" + b"\x00" * (64 << 20))
    found = identify_bytes(bomb.getvalue())
    assert found.kind == Kind.CORRUPT and "bytes" in (found.detail or "")
    names = io.BytesIO()
    with zipfile.ZipFile(names, "w") as zf:
        zf.writestr("a/" + "b" * 60000, b"x")  # zip's limit is 65535; ours is 4096
    assert identify_bytes(names.getvalue()).kind == Kind.CORRUPT


def test_non_utf8_metadata_and_index_pages() -> None:
    wheel = io.BytesIO()
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("x-1.0.dist-info/METADATA", b"Name: \xff\xfe\n")
    assert identify_bytes(wheel.getvalue()).kind == Kind.CORRUPT
    page = json.dumps({"meta": {"api-version": "1.1"}, "name": "Foo.Bar", "files": []})
    found = identify_bytes(page.encode(), "application/vnd.pypi.simple.v1+json")
    assert (found.kind, found.project) == (Kind.INDEX_PAGE, "foo-bar")
    html = b"<html><head><title>Links for Zope_Interface</title></head></html>"
    assert identify_bytes(html, "text/html").project == "zope-interface"


def test_symlinks_inside_the_cache_are_not_followed(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "sentinel").write_bytes(b"x" * 1000)
    (cache / "http-v2").mkdir(parents=True)
    os.symlink(outside, cache / "http-v2" / "a")
    os.symlink(outside / "sentinel", cache / "wheels-link")
    result = scan(HOST, str(cache))
    assert result.files == 0 and result.size == 0
    details = {e.key: e.detail for e in result.entries}
    assert details == {"http-v2/a": "symlink to a directory", "wheels-link": "symlink"}
    assert all(e.kind == Kind.STRAY for e in result.entries)
    assert not any("sentinel" in f.path for e in result.entries for f in e.files)
    assert (outside / "sentinel").exists()
    # a cache dir that is itself a symlink is not followed either
    os.symlink(outside, tmp_path / "linked-cache")
    linked = scan(HOST, str(tmp_path / "linked-cache"))
    assert not linked.exists and linked.files == 0
    assert [p.message for p in linked.problems] == ["cache dir is a symlink (not followed)"]


def test_unreadable_subdir_is_a_problem_and_the_scan_goes_on(real_caches_dir: Path) -> None:
    """A directory the scanning user cannot read is reported and the rest is scanned.

    Root reads through mode 000, so under root the scan runs in a forked child that has
    dropped to ``nobody`` (imports are already done: nobody cannot read /root's Python)."""
    import shutil
    import tempfile

    from packaging.utils import parse_wheel_filename  # noqa: F401  (warm the lazy import)

    top = Path(tempfile.mkdtemp(prefix="cc-unreadable-"))
    try:
        os.chmod(top, 0o755)
        cache = top / "pip-26.3"
        shutil.copytree(real_caches_dir / "pip-26.3", cache)
        locked = cache / "http-v2" / "3"
        if os.geteuid() == 0:
            for dirpath, dirnames, filenames in os.walk(top):
                for name in [*dirnames, *filenames]:
                    os.lchown(os.path.join(dirpath, name), 65534, 65534)
        os.chmod(locked, 0o000)
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            try:
                if os.geteuid() == 0:
                    os.setgroups([])
                    os.setgid(65534)
                    os.setuid(65534)
                result = scan(HOST, str(cache))
                out = json.dumps([len(result.entries), [p.path for p in result.problems]])
                os.write(write_fd, out.encode())
            finally:
                os._exit(0)
        os.close(write_fd)
        with os.fdopen(read_fd) as fh:
            data = fh.read()
        os.waitpid(pid, 0)
        os.chmod(locked, 0o755)
        count, problems = json.loads(data)
        assert problems == [str(locked)]
        assert count >= 10  # everything else was still scanned
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_big_legacy_record_is_read_in_place(tmp_path: Path, index_dists: Path) -> None:
    """A legacy http/ record holding a body past RECORD_HEAD is parsed piecewise: the body is
    identified where it lies, and the headers after it are still read."""
    wheel = (index_dists / "certifi-2024.7.4-py3-none-any.whl").read_bytes()
    assert len(wheel) > 2 * RECORD_HEAD
    cache = tmp_path / "cache"
    put(cache, "http", h(1), record(wheel))
    result = scan(HOST, str(cache))
    (entry,) = result.entries
    assert (entry.kind, entry.project, entry.version) == (Kind.WHEEL, "certifi", "2024.7.4")
    assert entry.date == "2026-11-23T23:19:25+00:00" and entry.content_type == "application/zip"
    path = put(cache, "http", h(1), record(wheel)[: RECORD_HEAD + 1000])  # truncated
    os.utime(path, ns=(5, 5))
    (broken,) = scan(HOST, str(cache)).entries
    assert broken.kind == Kind.CORRUPT and "truncated" in (broken.detail or "")


def test_gzip_encoded_index_page_in_http_v2(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    page = json.dumps({"meta": {"api-version": "1.1"}, "name": "Six", "files": []}).encode()
    response = msgpack.unpackb(record(ctype="application/vnd.pypi.simple.v1+json")[5:])
    response["response"]["headers"]["Content-Encoding"] = "gzip"
    put(cache, "http-v2", h(2), b"cc=4," + msgpack.packb(response, use_bin_type=True))
    put(cache, "http-v2", h(2) + ".body", gzip.compress(page))
    (entry,) = scan(HOST, str(cache)).entries
    assert (entry.kind, entry.project) == (Kind.INDEX_PAGE, "six")


def test_a_directory_vanishing_mid_scan(real_caches: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip (or a clean-up) removes a directory while we walk: what is gone is not counted,
    is not a problem, and the rest is scanned."""
    import shutil

    top = real_caches / "pip-26.3"
    doomed = top / "wheels"
    real_scandir = os.scandir
    removed: list[str] = []

    def racing(path: str) -> object:
        if not removed and path != str(top):
            removed.append(path)
            shutil.rmtree(doomed)  # gone between listing the top and entering it
        return real_scandir(path)

    monkeypatch.setattr(pipmod.os, "scandir", racing)
    result = scan(HOST, str(top))
    monkeypatch.undo()
    assert removed and not doomed.exists()
    assert result.problems == ()
    assert not [e for e in result.entries if e.area == "wheels"]
    assert len([e for e in result.entries if e.area == "http-v2"]) == 13
    files = [p for p in top.rglob("*") if p.is_file()]
    assert result.files == len(files) and result.size == sum(p.stat().st_size for p in files)


def test_worker_processes_give_the_same_scan(real_caches: Path) -> None:
    from dataclasses import replace

    def no_atime(result: CacheScan) -> list[object]:  # reading a body may bump its atime
        return [
            replace(e, files=tuple(replace(f, atime_ns=0) for f in e.files)) for e in result.entries
        ]

    for name in ("pip-26.3", "pip-23-then-26"):
        serial = scan(HOST, str(real_caches / name), workers=1)
        pooled = scan(HOST, str(real_caches / name), workers=2)
        assert len(serial.entries) >= 8
        assert no_atime(serial) == no_atime(pooled)


def test_pip_info_counts_like_pip_on_a_messy_cache(
    real_caches: Path, pip_venv: Callable[[str], Path], tmp_path: Path
) -> None:
    """pip's own numbers (strays, tmp files, symlinks, stray *-*.whl included), exactly."""
    top = real_caches / "pip-23-then-26"
    put(top, "http-v2", h(3) + "abcd_123.tmp", b"partial")
    put(top, "http-v2", h(4), record())  # record without body
    (top / "http" / "notes.txt").write_text("mine")
    (top / "wheels" / "ab").mkdir(parents=True, exist_ok=True)
    (top / "wheels" / "ab" / "loose-1.0-py3-none-any.whl").write_bytes(b"PK")
    (tmp_path / "target").mkdir()
    os.symlink(tmp_path / "target", top / "http-v2" / "linkdir")
    os.symlink(top / "http" / "notes.txt", top / "http" / "linkfile")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CACHE_DIR=str(top), PIP_DISABLE_PIP_VERSION_CHECK="1")
    out = subprocess.run(
        [str(pip_venv(PIP_NEW)), "-m", "pip", "cache", "info"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    theirs = dict(line.split(": ", 1) for line in out.strip().splitlines())
    info = pip_info(scan(HOST, str(top)))
    assert str(info["http_files"]) == theirs["Number of HTTP files"]
    assert str(info["built_wheels"]) == theirs["Number of locally built wheels"]
    assert info["http_cache_location"] == theirs["Package index page cache location (pip v23.3+)"]
    # and the truth beside it: 4 http/ + 4 http-v2/ entries (the MANIFEST's), the tmp
    # file and the record without its body are orphans, the loose wheel is not pip's
    assert (info["http_entries"], info["http_orphans"]) == (8, 2)
    assert (info["built_wheels"], info["built_wheel_entries"]) == (1, 0)
    http_bytes = sum(
        p.lstat().st_size
        for area in ("http", "http-v2")
        for p in (top / area).rglob("*")
        if p.is_file() and not p.is_symlink()
    )
    assert info["http_cache_size"] == http_bytes


def test_identification_fed_from_the_walk_gives_the_same_scan(
    real_caches: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool that starts while the walk goes on (here from the first new entry, two
    entries a batch) answers as one process does, and an interrupted walk stops it."""
    import cachecensus.caches.pip as pipmod

    monkeypatch.setattr(pipmod, "FEED_START", 1)
    monkeypatch.setattr(pipmod, "BATCH", 2)
    started: list[object] = []
    original = pipmod._Pool.__init__

    def counting(self: object, *args: object) -> None:
        started.append(self)
        original(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(pipmod._Pool, "__init__", counting)
    for name in ("pip-26.3", "pip-23-then-26"):
        serial = scan(HOST, str(real_caches / name), workers=1)
        fed = scan(HOST, str(real_caches / name), workers=2)
        assert started, "the feed started a pool"
        assert [
            (e.key, e.kind, e.project, e.version, e.filename, e.detail) for e in fed.entries
        ] == [(e.key, e.kind, e.project, e.version, e.filename, e.detail) for e in serial.entries]
        started.clear()

    calls = 0
    on_dir = pipmod._Feed.on_dir

    def interrupted(self: object, files: list[object], start: int) -> None:
        nonlocal calls
        on_dir(self, files, start)  # type: ignore[arg-type]
        calls += 1
        if calls == 40:
            raise KeyboardInterrupt

    monkeypatch.setattr(pipmod._Feed, "on_dir", interrupted)
    with pytest.raises(KeyboardInterrupt):
        scan(HOST, str(real_caches / "pip-26.3"), workers=2)
    (pool,) = started
    assert all(proc.poll() is not None for proc in pool.procs)  # type: ignore[attr-defined]
    assert not any(t.is_alive() for t in pool.threads)  # type: ignore[attr-defined]
